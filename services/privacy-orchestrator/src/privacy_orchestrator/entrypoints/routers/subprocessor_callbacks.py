"""POST /subprocessors/{id}/callbacks: a sub-processor confirms a privacy request (R13).

No bearer token: the Standard Webhooks signature under that sub-processor's callback secret
is the authentication. Reached through the gateway at
``/api/privacy-orchestrator/subprocessors/{id}/callbacks``. Refusals are problem documents and
counted in ``byggrygg_webhook_rejections_total{reason}``: malformed 400, bad signature or
stale timestamp 401, replayed ``webhook-id`` 409. A new confirmation is recorded on its
data-subject request in the same transaction (``requests.record_confirmation``), which
completes the request when it was the last missing answer.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
from fastapi import APIRouter, Request, Response

from byggrygg_shared.problems import problem_responses
from privacy_orchestrator.domain.subprocessors import Confirmation
from privacy_orchestrator.entrypoints.dependencies import get_dependencies
from privacy_orchestrator.entrypoints.routers.subprocessors import subprocessor_context
from privacy_orchestrator.service_layer import requests
from privacy_orchestrator.service_layer import subprocessors as service

router = APIRouter(tags=["subprocessors"])


@router.post(
    "/subprocessors/{subprocessor_id}/callbacks",
    status_code=204,
    summary="A sub-processor's signed confirmation of a privacy request (Standard Webhooks)",
    description='Body: `{"type": "privacy.<action>.completed", "timestamp", "data": '
    '{"request_id", "subject_ref", "action", "outcome", "counts": {"records", "fields"}, '
    '"completed_at", "export"}}`, signed with the headers `webhook-id`, `webhook-timestamp` '
    "and `webhook-signature`.",
    responses=problem_responses(400, 401, 404, 409, 422),
    response_class=Response,
)
async def receive_callback(request: Request, subprocessor_id: UUID) -> Response:
    body = await request.body()
    deps = get_dependencies(request)

    async def on_confirmed(conn: asyncpg.Connection, confirmation: Confirmation) -> None:
        await requests.record_confirmation(conn, deps, confirmation)

    await service.receive_callback(
        subprocessor_context(request),
        subprocessor_id,
        body,
        dict(request.headers),
        on_confirmed=on_confirmed,
    )
    return Response(status_code=204)
