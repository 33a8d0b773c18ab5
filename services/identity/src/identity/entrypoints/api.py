"""The identity HTTP API: one FastAPI app, every router mounted here.

`create_app` builds the app without any I/O (`byggrygg_shared.service_api` assembles it the
same way for every service); `bootstrap` puts the real dependencies in `app.state` (from the
lifespan when serving, directly in tests). Every error response is an RFC 9457 problem document.
"""

from __future__ import annotations

from fastapi import FastAPI

from byggrygg_shared.service_api import Lifespan, service_api
from identity.entrypoints.errors import ERROR_MAPPING
from identity.entrypoints.routers import auth, invitations, organisations, users

READINESS_CHECKS = ("database", "keyring", "kafka")

DESCRIPTION = """\
Organisations (customers), their contact persons and administrators, portal users, licences
and login for the ByggRygg platform (requirements R1-R3, R6, R7, R15).

Authentication: `POST /auth/token` returns a short-lived EdDSA JWT; send it as
`Authorization: Bearer <token>`. Public keys: `GET /.well-known/jwks.json`.

Tenancy: every request is scoped to the caller's organisation. An id belonging to another
organisation answers 404, exactly like an id that does not exist; within the caller's own
organisation, a role that may not do something answers 403.

Errors are `application/problem+json` documents (RFC 9457).
"""


def create_app(*, lifespan: Lifespan | None = None) -> FastAPI:
    """The app with its routes, error handling, metrics and health endpoints."""
    return service_api(
        title="ByggRygg identity",
        description=DESCRIPTION,
        routers=(auth.router, organisations.router, invitations.router, users.router),
        readiness_checks=READINESS_CHECKS,
        error_mapping=ERROR_MAPPING,
        lifespan=lifespan,
    )
