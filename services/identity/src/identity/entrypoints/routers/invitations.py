"""/invitations: an invited person accepts the terms and becomes a user (R3)."""

from __future__ import annotations

from fastapi import APIRouter, status

from byggrygg_shared.problems import problem_responses
from identity.adapters.queries import fetch_user
from identity.entrypoints.dependencies import Deps
from identity.schemas import InvitationAccept, InvitationRead, UserRead
from identity.service_layer import invitations
from identity.service_layer.invitations import IssuedInvitation

router = APIRouter(prefix="/invitations", tags=["invitations"])


def invitation_read(issued: IssuedInvitation) -> InvitationRead:
    return InvitationRead(
        invitation_id=issued.invitation_id,
        organisation_id=issued.organisation_id,
        email=issued.email,
        roles=sorted(issued.roles),
        expires_at=issued.expires_at,
        token=issued.token,
    )


@router.post(
    "/accept",
    status_code=status.HTTP_201_CREATED,
    summary="Accept the terms and set a password: the user is created (R3)",
    description="Needs no access token: the invitation token is the credential.",
    responses=problem_responses(400, 404, 409, 410, 422),
)
async def accept_invitation(body: InvitationAccept, deps: Deps) -> UserRead:
    user_id = await invitations.handle_accept_invitation(
        deps=deps,
        token=body.token,
        name=body.name,
        phone=body.phone,
        gender=body.gender,
        language=body.language,
        terms_version=body.terms_version,
        password=body.password,
    )
    # The person reads back the profile they just gave.
    async with deps.pool.acquire() as conn:
        view = await fetch_user(conn, user_id)
    return UserRead.model_validate(view)
