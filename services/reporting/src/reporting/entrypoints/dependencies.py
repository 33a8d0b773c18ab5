"""FastAPI dependencies: the handlers' `Dependencies` and the calling `Actor`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from byggrygg_shared.auth import Principal, Role, current_principal, require_roles
from byggrygg_shared.problems import Unauthorized
from reporting.service_layer.context import Actor, Dependencies


def get_dependencies(request: Request) -> Dependencies:
    deps = getattr(request.app.state, "deps", None)
    if not isinstance(deps, Dependencies):
        raise RuntimeError("the app has no Dependencies; bootstrap must install them")
    return deps


def actor_of(principal: Principal) -> Actor:
    """The service layer's view of a verified token."""
    try:
        organisation_id = (
            None if principal.organisation_id is None else UUID(principal.organisation_id)
        )
    except ValueError:
        raise Unauthorized("The access token is not valid.") from None
    return Actor(
        user_id=principal.user_id,
        subject_ref=principal.subject_ref,
        organisation_id=organisation_id,
        roles=principal.roles,
    )


async def get_actor(principal: Annotated[Principal, Depends(current_principal)]) -> Actor:
    return actor_of(principal)


async def get_staff(
    principal: Annotated[Principal, Depends(require_roles(Role.PLATFORM_STAFF))],
) -> Actor:
    return actor_of(principal)


Deps = Annotated[Dependencies, Depends(get_dependencies)]
CurrentActor = Annotated[Actor, Depends(get_actor)]
# The caller, who must be platform staff (401 without a token, 403 with another role).
StaffActor = Annotated[Actor, Depends(get_staff)]
