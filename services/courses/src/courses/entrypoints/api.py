"""The courses HTTP API: one FastAPI app, every router mounted here.

`create_app` builds the app without any I/O (`byggrygg_shared.service_api` assembles it the
same way for every service); `bootstrap` puts the real dependencies in `app.state` (from the
lifespan when serving, directly in tests). Every error response is an RFC 9457 problem document.
"""

from __future__ import annotations

from fastapi import FastAPI

from byggrygg_shared.service_api import Lifespan, service_api
from courses.entrypoints.errors import ERROR_MAPPING
from courses.entrypoints.routers import answers, courses, me, organisations

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


def create_app(*, lifespan: Lifespan | None = None) -> FastAPI:
    """The app with its routes, error handling, metrics and health endpoints."""
    return service_api(
        title="ByggRygg courses",
        description=DESCRIPTION,
        routers=(answers.router, courses.router, organisations.router, me.router),
        readiness_checks=READINESS_CHECKS,
        error_mapping=ERROR_MAPPING,
        lifespan=lifespan,
    )
