"""Every service's FastAPI app, assembled the same way around the service's own routers.

`service_api` builds the app without any I/O: forwarded-prefix handling behind nginx, problem
documents for every error (the platform's and the service's own table), the request-context
middleware with ``/metrics``, ``/healthz`` and ``/readyz``, then the service's routers.
The service's ``bootstrap`` puts the live readiness checks in ``app.state.readiness`` (from the
lifespan when serving, directly in tests); a check not wired yet fails readiness.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI

from byggrygg_shared.background import Worker, running
from byggrygg_shared.error_mapping import ErrorMapping
from byggrygg_shared.forwarded import ForwardedPrefixMiddleware
from byggrygg_shared.observability import instrument_app
from byggrygg_shared.problems import install_problem_handlers

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
Runtime = TypeVar("Runtime")


def served_lifespan(
    *,
    service: str,
    build: Callable[[], Awaitable[Runtime]],
    install: Callable[[FastAPI, Runtime], None],
    workers: Callable[[Runtime], Mapping[str, Worker]],
    close: Callable[[Runtime], Awaitable[None]],
    shutdown_timeout: float,
) -> Lifespan:
    """The lifespan of a served service: build its runtime, install it into the app, run its
    background workers beside the API, and on shutdown stop them, then close the runtime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await build()
        install(app, runtime)
        try:
            async with running(
                workers(runtime), service=service, shutdown_timeout=shutdown_timeout
            ):
                yield
        finally:
            await close(runtime)

    return lifespan


def _readiness(app: FastAPI, name: str) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        checks: dict[str, Callable[[], Awaitable[Any]]] = getattr(app.state, "readiness", {})
        if name not in checks:
            raise RuntimeError(f"{name} is not wired yet")
        await checks[name]()

    return check


def service_api(
    *,
    title: str,
    description: str,
    routers: Iterable[APIRouter],
    readiness_checks: Iterable[str],
    error_mapping: ErrorMapping,
    lifespan: Lifespan | None = None,
) -> FastAPI:
    """The app with `routers`, error handling, metrics and health endpoints.

    `readiness_checks` names the checks ``/readyz`` runs (looked up in ``app.state.readiness``
    at request time); `error_mapping` is the service's own table of errors.
    """
    app = FastAPI(title=title, version="1.0.0", description=description, lifespan=lifespan)
    app.add_middleware(ForwardedPrefixMiddleware)
    install_problem_handlers(app)
    error_mapping.install(app)
    instrument_app(app, readiness_checks={name: _readiness(app, name) for name in readiness_checks})
    for router in routers:
        app.include_router(router)
    return app
