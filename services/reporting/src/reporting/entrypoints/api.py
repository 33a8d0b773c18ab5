"""The reporting HTTP API: one FastAPI app, every router mounted here.

`create_app` builds the app without any I/O (`byggrygg_shared.service_api` assembles it the
same way for every service); `bootstrap` puts the real dependencies in `app.state` (from the
lifespan when serving, directly in tests). Every error response is an RFC 9457 problem
document. A capability adds its router to ``ROUTERS`` (the statistics routers do).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from byggrygg_shared.service_api import Lifespan, service_api
from reporting.entrypoints.errors import ERROR_MAPPING
from reporting.entrypoints.routers import dashboard, ops, statistics  # ops, dashboard: lanes

READINESS_CHECKS = ("database", "kafka", "consumers")

DESCRIPTION = """\
Reporting for the ByggRygg platform: read models of courses' events and statistics over them:
k-anonymous statistics for an organisation's contact person (R5) and full internal statistics
for platform staff (R4). Single answers and free text are never served.

Authentication: `Authorization: Bearer <token>` with an access token from identity
(`POST /api/identity/auth/token`).

Errors are `application/problem+json` documents (RFC 9457).
"""

# Every router of the service, in the order they appear in the API document.
# the ops dashboard page and its files, left out of the API document.
ROUTERS: tuple[APIRouter, ...] = (statistics.router, ops.router, dashboard.router)


def create_app(*, lifespan: Lifespan | None = None) -> FastAPI:
    """The app with its routes, error handling, metrics and health endpoints."""
    return service_api(
        title="ByggRygg reporting",
        description=DESCRIPTION,
        routers=ROUTERS,
        readiness_checks=READINESS_CHECKS,
        error_mapping=ERROR_MAPPING,
        lifespan=lifespan,
    )
