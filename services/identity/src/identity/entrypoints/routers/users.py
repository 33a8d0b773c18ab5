"""/users: profiles (R3), correction (R15), licences (R6, R7), ending one's subscription (R6)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Response, status

from byggrygg_shared.preconditions import etag, expected_version
from byggrygg_shared.problems import problem_responses
from identity.adapters.queries import UserView
from identity.domain.user import ProfileCorrection, ProfileField
from identity.entrypoints.dependencies import CurrentActor, Deps
from identity.schemas import LicenceCreated, UserRead, UserUpdate
from identity.service_layer import users

router = APIRouter(prefix="/users", tags=["users"])


def user_read(view: UserView, response: Response) -> UserRead:
    response.headers["ETag"] = etag(view.version)
    return UserRead.model_validate(view)


@router.post(
    "/me/cancel-subscription",
    summary="End your own subscription (R6); your data is then erased",
    responses=problem_responses(401, 403, 404, 409),
)
async def cancel_subscription(deps: Deps, actor: CurrentActor, response: Response) -> UserRead:
    await users.handle_cancel_subscription(deps=deps, actor=actor)
    return user_read(await users.get_own_user(deps=deps, actor=actor), response)


@router.get(
    "/{user_id}",
    summary="A user's profile (the user, or an administrator of the same organisation)",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_user(user_id: UUID, deps: Deps, actor: CurrentActor, response: Response) -> UserRead:
    return user_read(await users.get_user(deps=deps, actor=actor, user_id=user_id), response)


@router.patch(
    "/{user_id}",
    summary="Correct a profile (R15); needs If-Match with the ETag of the version edited",
    description="Only the fields present change. A stale If-Match, or another correction "
    "committed first, gives 409: read again and reapply.",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 428),
)
async def correct_user(
    user_id: UUID,
    body: UserUpdate,
    deps: Deps,
    actor: CurrentActor,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> UserRead:
    expected = expected_version(if_match)
    given = body.model_fields_set
    await users.handle_correct_profile(
        deps=deps,
        actor=actor,
        user_id=user_id,
        correction=ProfileCorrection(
            fields=frozenset(field for field in ProfileField if field.value in given),
            name=body.name,
            email=None if body.email is None else str(body.email),
            phone=body.phone,
            gender=body.gender,
            language=body.language,
        ),
        expected_version=expected,
    )
    return user_read(await users.get_user(deps=deps, actor=actor, user_id=user_id), response)


@router.post(
    "/{user_id}/licences",
    status_code=status.HTTP_201_CREATED,
    summary="Grant the user a licence (administrators of the user's organisation)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def grant_licence(user_id: UUID, deps: Deps, actor: CurrentActor) -> LicenceCreated:
    licence_id = await users.handle_grant_licence(deps=deps, actor=actor, user_id=user_id)
    return LicenceCreated(licence_id=licence_id)


@router.delete(
    "/{user_id}/licences/{licence_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke the user's licence (administrators; R6: the user's data is then erased)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def revoke_licence(
    user_id: UUID, licence_id: UUID, deps: Deps, actor: CurrentActor
) -> Response:
    await users.handle_revoke_licence(
        deps=deps, actor=actor, user_id=user_id, licence_id=licence_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
