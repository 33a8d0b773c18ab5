"""Invitations (R3, R7): an organisation invites a person; accepting the terms creates the user.

The flow: an administrator invites an e-mail address (`handle_invite_user`; staff invite
administrators and contact persons when listing them). The invitation holds the address, the
roles and a pre-assigned `subject_ref`, and a one-time token whose SHA-256 alone is stored; the
token is returned once to the inviter, who delivers it. The person presents the token, accepts
the current terms, gives their profile and a password (`handle_accept_invitation`): only then
does the user exist (UserCreated). The invitation and its e-mail row are deleted in the same
transaction; an invitation of an organisation whose contract ended is deleted with it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from identity.adapters.projections import project_user
from identity.adapters.queries import organisation_exists, organisation_is_active
from identity.domain.errors import ContractAlreadyEnded, InvitationExpired
from identity.domain.user import Profile, User
from identity.domain.values import Gender, Language, Role, normalise_email
from identity.service_layer.access import require_organisation_role
from identity.service_layer.conflicts import conflict_for
from identity.service_layer.context import Actor, Dependencies
from identity.service_layer.errors import InvitationNotFound, OrganisationNotFound


@dataclass(frozen=True)
class IssuedInvitation:
    """An invitation just made; `token` is shown this once and never stored."""

    invitation_id: UUID
    organisation_id: UUID
    email: str
    roles: frozenset[Role]
    expires_at: datetime
    token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def issue_invitation(
    conn: asyncpg.Connection,
    deps: Dependencies,
    *,
    organisation_id: UUID,
    email: str,
    roles: frozenset[Role],
    subject_ref: str,
    invited_by: str,
) -> IssuedInvitation:
    """Record an invitation inside the caller's transaction; the address must be free."""
    invitation_id = deps.ids.new_id()
    token = deps.ids.new_secret()
    now = deps.clock()
    expires_at = now + deps.policy.invitation_ttl
    address = normalise_email(email)
    # The login_emails primary key is the uniqueness rule across users, staff and invitations.
    await conn.execute(
        "INSERT INTO login_emails (email, holder_kind, holder_id) VALUES ($1, 'invitation', $2)",
        address,
        invitation_id,
    )
    await conn.execute(
        """
        INSERT INTO invitations (invitation_id, organisation_id, subject_ref, roles, token_hash,
                                 invited_by, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        invitation_id,
        organisation_id,
        subject_ref,
        sorted(role.value for role in roles),
        token_hash(token),
        invited_by,
        now,
        expires_at,
    )
    return IssuedInvitation(
        invitation_id=invitation_id,
        organisation_id=organisation_id,
        email=address,
        roles=roles,
        expires_at=expires_at,
        token=token,
    )


async def handle_invite_user(
    *, deps: Dependencies, actor: Actor, organisation_id: UUID, email: str
) -> IssuedInvitation:
    """An administrator of the organisation invites a learner (R7)."""
    require_organisation_role(actor, organisation_id, Role.ORG_ADMIN)
    try:
        async with deps.unit_of_work() as conn:
            if not await organisation_exists(conn, organisation_id):
                raise OrganisationNotFound(str(organisation_id))
            if not await organisation_is_active(conn, organisation_id):
                raise ContractAlreadyEnded("the organisation's contract has ended")
            return await issue_invitation(
                conn,
                deps,
                organisation_id=organisation_id,
                email=email,
                roles=frozenset({Role.LEARNER}),
                subject_ref=deps.ids.new_subject_ref(),
                invited_by=actor.user_id,
            )
    except asyncpg.UniqueViolationError as error:
        raise conflict_for(error) from None


async def handle_accept_invitation(
    *,
    deps: Dependencies,
    token: str,
    name: str,
    phone: str | None,
    gender: Gender | None,
    language: Language,
    terms_version: str,
    password: str,
) -> UUID:
    """The invited person accepts the terms and sets a password: the user exists (R3)."""
    # Hashed before the transaction: argon2 is slow and must not hold row locks.
    password_hash = await deps.passwords.hash(password)
    now = deps.clock()
    try:
        async with deps.unit_of_work() as conn:
            invitation = await conn.fetchrow(
                "SELECT i.*, e.email FROM invitations i "
                "JOIN login_emails e ON e.holder_id = i.invitation_id "
                "WHERE i.token_hash = $1 FOR UPDATE OF i",
                token_hash(token),
            )
            if invitation is None:
                raise InvitationNotFound("no pending invitation has this token")
            if invitation["expires_at"] <= now:
                raise InvitationExpired("the invitation has expired")
            organisation_id: UUID = invitation["organisation_id"]
            if not await organisation_is_active(conn, organisation_id):
                raise ContractAlreadyEnded("the organisation's contract has ended")

            user_id = deps.ids.new_id()
            user = User.accept_terms(
                user_id=user_id,
                subject_ref=invitation["subject_ref"],
                organisation_id=organisation_id,
                roles=frozenset(Role(role) for role in invitation["roles"]),
                profile=Profile(
                    name=name,
                    email=invitation["email"],
                    phone=phone,
                    gender=gender,
                    language=language,
                ),
                accepted_version=terms_version,
                current_version=deps.policy.terms_version,
                accepted_at=now,
            )
            await conn.execute(
                "DELETE FROM login_emails WHERE holder_id = $1", invitation["invitation_id"]
            )
            await conn.execute(
                "DELETE FROM invitations WHERE invitation_id = $1", invitation["invitation_id"]
            )
            recorded = await deps.users.save(
                conn,
                user,
                aggregate_id=user_id,
                metadata=deps.metadata(organisation_id=organisation_id),
            )
            await project_user(conn, recorded)
            await conn.execute(
                "INSERT INTO credentials (principal_id, password_hash, updated_at) "
                "VALUES ($1, $2, $3)",
                user_id,
                password_hash,
                now,
            )
            return user_id
    except asyncpg.UniqueViolationError as error:
        raise conflict_for(error) from None


async def delete_invitations_of(conn: asyncpg.Connection, organisation_id: UUID) -> None:
    """Forget the pending invitations of an organisation whose contract ended."""
    await conn.execute(
        "DELETE FROM login_emails WHERE holder_id IN "
        "(SELECT invitation_id FROM invitations WHERE organisation_id = $1)",
        organisation_id,
    )
    await conn.execute("DELETE FROM invitations WHERE organisation_id = $1", organisation_id)
