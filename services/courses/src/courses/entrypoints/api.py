"""The courses HTTP API: one FastAPI app, every router mounted here.

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
from courses.entrypoints.errors import install_error_mapping
from courses.entrypoints.routers import answers, courses, me, organisations

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

READINESS_CHECKS = ("database", "keyring", "kafka", "consumers")

DESCRIPTION = """\
The course catalogue, enrolments, progress and the answers learners give on the ByggRygg
platform (requirements R3, R4, R6, R7).

Authentication: a bearer access token issued by identity (`POST /api/identity/auth/token`),
verified here with identity's public keys.

Answers (R4): single answers are visible to platform staff only (routes tagged `answers`);
org admins and contact persons get 403 there, whatever the parameters. A learner reads their
own answers under `/me/enrolments`.

Tenancy: an organisation other than the caller's answers 404, exactly like one that does not
exist; within the caller's own organisation, a role that may not do something answers 403.

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
        title="ByggRygg courses",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.add_middleware(ForwardedPrefixMiddleware)
    install_problem_handlers(app)
    install_error_mapping(app)
    instrument_app(app, readiness_checks={name: _readiness(app, name) for name in READINESS_CHECKS})
    for router in (answers.router, courses.router, organisations.router, me.router):
        app.include_router(router)
    return app
