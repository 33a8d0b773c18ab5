"""Login and the caller's own view: POST /auth/token, GET /.well-known/jwks.json, GET /me."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from byggrygg_shared.auth import Principal, Role, TokenIssuer
from byggrygg_shared.problems import problem_responses
from identity.entrypoints.dependencies import CurrentActor, Deps
from identity.schemas import MeRead, TokenRead, TokenRequest, UserRead
from identity.service_layer import users
from identity.service_layer.login import handle_log_in

router = APIRouter(tags=["auth"])


def get_issuer(request: Request) -> TokenIssuer:
    issuer = getattr(request.app.state, "token_issuer", None)
    if not isinstance(issuer, TokenIssuer):
        raise RuntimeError("the app has no TokenIssuer; bootstrap must install it")
    return issuer


@router.post(
    "/auth/token",
    summary="Log in with e-mail and password; returns a short-lived EdDSA access token",
    responses=problem_responses(400, 401, 422),
)
async def issue_token(body: TokenRequest, deps: Deps, request: Request) -> TokenRead:
    who = await handle_log_in(deps=deps, email=str(body.email), password=body.password)
    issuer = get_issuer(request)
    token = issuer.issue(
        Principal(
            user_id=str(who.user_id),
            subject_ref=who.subject_ref,
            organisation_id=None if who.organisation_id is None else str(who.organisation_id),
            roles=frozenset(Role(role.value) for role in who.roles),
        )
    )
    ttl = getattr(request.app.state, "access_token_seconds", 900)
    return TokenRead(access_token=token, expires_in=int(ttl))


@router.get(
    "/.well-known/jwks.json",
    summary="The public keys that verify identity's access tokens",
)
async def jwks(request: Request) -> dict[str, Any]:
    return dict(get_issuer(request).jwks())


@router.get(
    "/me",
    summary="Who you are: ids, roles and, for portal users, your profile",
    responses=problem_responses(401),
)
async def me(deps: Deps, actor: CurrentActor) -> MeRead:
    profile = None
    if not actor.is_staff:
        profile = UserRead.model_validate(await users.get_own_user(deps=deps, actor=actor))
    return MeRead(
        user_id=actor.user_id,
        subject_ref=actor.subject_ref,
        organisation_id=actor.organisation_id,
        roles=sorted(actor.roles),
        user=profile,
    )
