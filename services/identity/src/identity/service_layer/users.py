"""Command handlers and queries of users: rectification (R15), licences (R6, R7), and a user
ending their own subscription (R6)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from byggrygg_shared.eventstore import ConcurrentAppend
from identity.adapters.event_codec import SubjectErased
from identity.adapters.projections import project_user
from identity.adapters.queries import UserView, fetch_user, organisation_is_active
from identity.domain.errors import ContractAlreadyEnded
from identity.domain.user import ProfileCorrection, User
from identity.service_layer.access import authorise_user_access
from identity.service_layer.conflicts import conflict_for
from identity.service_layer.context import Actor, Dependencies
from identity.service_layer.errors import NotAllowed, UserNotFound, VersionMismatch


async def handle_correct_profile(
    *,
    deps: Dependencies,
    actor: Actor,
    user_id: UUID,
    correction: ProfileCorrection,
    expected_version: int,
) -> None:
    """Rectify a user's profile (R15), only if nobody changed it since `expected_version`."""
    try:
        async with deps.unit_of_work() as conn:
            organisation_id = await authorise_user_access(conn, actor, user_id)
            user = await _load(conn, deps, user_id)
            if user.version != expected_version:
                raise VersionMismatch(expected=expected_version, actual=user.version)
            if not user.correct_profile(correction, corrected_by=actor.user_id):
                return
            await _save(conn, deps, user, organisation_id)
    except asyncpg.UniqueViolationError as error:
        raise conflict_for(error) from None
    except ConcurrentAppend as error:
        # Another edit committed between our read and our append: the loser gets a conflict.
        raise VersionMismatch(
            expected=error.expected_version, actual=error.actual_version
        ) from None


async def handle_grant_licence(*, deps: Dependencies, actor: Actor, user_id: UUID) -> UUID:
    """An administrator of the user's organisation grants a licence (R7)."""
    licence_id = deps.ids.new_id()
    async with deps.unit_of_work() as conn:
        organisation_id = await authorise_user_access(conn, actor, user_id, admin_only=True)
        if not await organisation_is_active(conn, organisation_id):
            raise ContractAlreadyEnded("the organisation's contract has ended")
        user = await _load(conn, deps, user_id)
        user.grant_licence(licence_id=licence_id, granted_by=actor.user_id)
        await _save(conn, deps, user, organisation_id)
    return licence_id


async def handle_revoke_licence(
    *, deps: Dependencies, actor: Actor, user_id: UUID, licence_id: UUID
) -> None:
    """An administrator ends the user's licence (R6: the privacy orchestrator then erases)."""
    async with deps.unit_of_work() as conn:
        organisation_id = await authorise_user_access(conn, actor, user_id, admin_only=True)
        user = await _load(conn, deps, user_id)
        user.revoke_licence(licence_id=licence_id, revoked_by=actor.user_id)
        await _save(conn, deps, user, organisation_id)


async def handle_cancel_subscription(*, deps: Dependencies, actor: Actor) -> UUID:
    """The caller ends their own subscription (R6)."""
    user_id = _own_user_id(actor)
    async with deps.unit_of_work() as conn:
        organisation_id = await authorise_user_access(conn, actor, user_id)
        user = await _load(conn, deps, user_id)
        user.cancel_subscription()
        await _save(conn, deps, user, organisation_id)
    return user_id


async def get_user(*, deps: Dependencies, actor: Actor, user_id: UUID) -> UserView:
    async with deps.pool.acquire() as conn:
        await authorise_user_access(conn, actor, user_id)
        view = await fetch_user(conn, user_id)
    if view is None:
        raise UserNotFound(str(user_id))
    return view


async def get_own_user(*, deps: Dependencies, actor: Actor) -> UserView:
    return await get_user(deps=deps, actor=actor, user_id=_own_user_id(actor))


def _own_user_id(actor: Actor) -> UUID:
    if actor.is_staff or actor.organisation_id is None:
        raise NotAllowed("staff accounts have no subscription")
    return UUID(actor.user_id)


async def _load(conn: asyncpg.Connection, deps: Dependencies, user_id: UUID) -> User:
    try:
        user = await deps.users.get(conn, user_id)
    except SubjectErased:
        user = None
    if user is None:
        raise UserNotFound(str(user_id))
    return user


async def _save(
    conn: asyncpg.Connection, deps: Dependencies, user: User, organisation_id: UUID
) -> None:
    recorded = await deps.users.save(
        conn, user, aggregate_id=user.id, metadata=deps.metadata(organisation_id=organisation_id)
    )
    await project_user(conn, recorded)
