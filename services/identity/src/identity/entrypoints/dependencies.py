"""FastAPI dependencies: the handlers' `Dependencies` and the calling `Actor`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from byggrygg_shared.auth import Principal, current_principal
from byggrygg_shared.problems import Unauthorized
from identity.domain.values import Role
from identity.service_layer.context import Actor, Dependencies


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
        roles=frozenset(Role(role.value) for role in principal.roles),
    )


async def get_actor(principal: Annotated[Principal, Depends(current_principal)]) -> Actor:
    return actor_of(principal)


Deps = Annotated[Dependencies, Depends(get_dependencies)]
CurrentActor = Annotated[Actor, Depends(get_actor)]
