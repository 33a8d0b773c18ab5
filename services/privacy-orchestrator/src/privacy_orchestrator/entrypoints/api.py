"""The orchestrator's HTTP API: one FastAPI app, every router mounted here.

`create_app` builds the app without any I/O (`byggrygg_shared.service_api`); `bootstrap` puts
the real dependencies in `app.state`. Every error response is an RFC 9457 problem document.
"""

from __future__ import annotations

from fastapi import FastAPI

from byggrygg_shared.service_api import Lifespan, service_api
from privacy_orchestrator.entrypoints.errors import ERROR_MAPPING
from privacy_orchestrator.entrypoints.routers import (
    contract_ends,
    exports,
    organisation_exports,
    records,
    request_actions,
    requests,
    subprocessor_callbacks,
    subprocessors,
)

READINESS_CHECKS = ("database", "kafka", "consumers")

DESCRIPTION = """\
The privacy orchestrator of the ByggRygg platform: data-subject requests end to end
(R14-R19). So far: the completion records (R19), signed with the orchestrator's Ed25519 key
and hash-chained, read by platform staff, exported as a file that
`privacy-orchestrator verify-records` verifies offline with the public key from
`/.well-known/orchestrator-key`. The sub-processor register (R12) and the signed requests
to sub-processors with their signed webhook callbacks (R13, Standard Webhooks:
`POST /subprocessors/{id}/callbacks`).

Authentication: a bearer access token issued by identity, verified with identity's public keys.
Errors are `application/problem+json` documents (RFC 9457).
"""


def create_app(*, lifespan: Lifespan | None = None) -> FastAPI:
    """The app with its routes, error handling, metrics and health endpoints."""
    return service_api(
        title="ByggRygg privacy orchestrator",
        description=DESCRIPTION,
        routers=(
            records.router,
            requests.router,
            request_actions.router,
            subprocessors.router,
            subprocessor_callbacks.router,
            exports.router,
            contract_ends.router,
            organisation_exports.router,
        ),
        readiness_checks=READINESS_CHECKS,
        error_mapping=ERROR_MAPPING,
        lifespan=lifespan,
    )
