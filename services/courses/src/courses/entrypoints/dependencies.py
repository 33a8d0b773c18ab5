"""FastAPI dependencies: the handlers' `Dependencies` and the calling `Actor`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from byggrygg_shared.auth import Principal, current_principal
from byggrygg_shared.problems import Unauthorized
from courses.service_layer.access import require_answer_reader
from courses.service_layer.context import Actor, Dependencies


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


Deps = Annotated[Dependencies, Depends(get_dependencies)]
CurrentActor = Annotated[Actor, Depends(get_actor)]


async def require_answers_reader(actor: CurrentActor) -> Actor:
    """R4 as a route dependency: it runs before the route's own parameters are validated, so
    an org admin or contact person gets 403 whatever parameters they send (valid or not)."""
    require_answer_reader(actor)
    return actor
