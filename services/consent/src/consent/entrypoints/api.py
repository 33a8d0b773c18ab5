"""The consent HTTP API: one FastAPI app, every router mounted here.

`create_app` builds the app without any I/O (`byggrygg_shared.service_api` assembles it the
same way for every service); `bootstrap` puts the real dependencies in `app.state` (from the
lifespan when serving, directly in tests). Every error response is an RFC 9457 problem document.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from byggrygg_shared.service_api import Lifespan, service_api
from consent.entrypoints.errors import ERROR_MAPPING
from consent.entrypoints.routers import (
    analytics,
    complaints,
    cookies,
    correspondence,
    newsletter,
    policies,
)

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


def create_app(*, lifespan: Lifespan | None = None) -> FastAPI:
    """The app with its routes, error handling, metrics and health endpoints."""
    return service_api(
        title="ByggRygg consent",
        description=DESCRIPTION,
        routers=ROUTERS,
        readiness_checks=READINESS_CHECKS,
        error_mapping=ERROR_MAPPING,
        lifespan=lifespan,
    )
