"""The identity HTTP API: one FastAPI app, every router mounted here.

`create_app` builds the app without any I/O; `bootstrap` puts the real dependencies in
`app.state` (from the lifespan when serving, directly in tests). Every error response is an
RFC 9457 problem document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI

from byggrygg_shared.forwarded import ForwardedPrefixMiddleware
from byggrygg_shared.observability import instrument_app
from byggrygg_shared.problems import install_problem_handlers
from identity.entrypoints.errors import install_error_mapping
from identity.entrypoints.routers import auth, invitations, organisations, users

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

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


def _readiness(app: FastAPI, name: str) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        checks: dict[str, Callable[[], Awaitable[Any]]] = getattr(app.state, "readiness", {})
        if name not in checks:
            raise RuntimeError(f"{name} is not wired yet")
        await checks[name]()

    return check


def create_app(*, lifespan: Lifespan | None = None) -> FastAPI:
    """The app with its routes, error handling, metrics and health endpoints."""
    app = FastAPI(
        title="ByggRygg identity",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.add_middleware(ForwardedPrefixMiddleware)
    install_problem_handlers(app)
    install_error_mapping(app)
    instrument_app(app, readiness_checks={name: _readiness(app, name) for name in READINESS_CHECKS})
    for router in (auth.router, organisations.router, invitations.router, users.router):
        app.include_router(router)
    return app
