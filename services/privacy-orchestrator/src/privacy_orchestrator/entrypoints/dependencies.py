"""FastAPI dependencies: the handlers' `Dependencies` and the staff caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from byggrygg_shared.auth import Principal, Role, current_principal, require_roles
from privacy_orchestrator.service_layer.context import Dependencies


def get_dependencies(request: Request) -> Dependencies:
    deps = getattr(request.app.state, "deps", None)
    if not isinstance(deps, Dependencies):
        raise RuntimeError("the app has no Dependencies; bootstrap must install them")
    return deps


Deps = Annotated[Dependencies, Depends(get_dependencies)]
# Completion records are read by platform staff (auditors of the processor) only.
Staff = Annotated[Principal, Depends(require_roles(Role.PLATFORM_STAFF))]
# Any signed-in person (a request's own rules decide what they may do).
Caller = Annotated[Principal, Depends(current_principal)]
ContactPerson = Annotated[Principal, Depends(require_roles(Role.CONTACT_PERSON))]
