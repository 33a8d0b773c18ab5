"""The consent HTTP API: one FastAPI app, every router mounted here.

`create_app` builds the app without any I/O; `bootstrap` puts the real dependencies in
`app.state` (from the lifespan when serving, directly in tests). Every error response is an
RFC 9457 problem document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import APIRouter, FastAPI

from byggrygg_shared.forwarded import ForwardedPrefixMiddleware
from byggrygg_shared.observability import instrument_app
from byggrygg_shared.problems import install_problem_handlers
from consent.entrypoints.errors import install_error_mapping
from consent.entrypoints.routers import (
    analytics,
    complaints,
    cookies,
    correspondence,
    newsletter,
    policies,
)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

READINESS_CHECKS = ("database", "keyring", "kafka", "mail", "consumers")

DESCRIPTION = """\
Consent and contact for the ByggRygg platform: privacy-policy versions (R20), newsletter
consent with double opt-in (R8), cookie choices and the analytics intake that honours them
(R11), the correspondence log (R9, R10) and complaints (R21).

Authentication where needed: `Authorization: Bearer <token>` with an access token from
identity (`POST /api/identity/auth/token`). Public endpoints (policy versions, the newsletter
sign-up and its links, cookie choices, the analytics intake) need none.

Errors are `application/problem+json` documents (RFC 9457).
"""

# Every router of the service, in the order they appear in the API document.
ROUTERS: tuple[APIRouter, ...] = (
    policies.router,
    newsletter.router,
    cookies.router,
    analytics.router,
    correspondence.router,
    complaints.router,
)


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
        title="ByggRygg consent",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.add_middleware(ForwardedPrefixMiddleware)
    install_problem_handlers(app)
    install_error_mapping(app)
    instrument_app(app, readiness_checks={name: _readiness(app, name) for name in READINESS_CHECKS})
    for router in ROUTERS:
        app.include_router(router)
    return app
