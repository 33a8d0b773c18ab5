"""Platform staff's actions on a running request (R13, DESIGN §5): send an escalated
participant's command or sub-processor request again, or close the latter with a written
reason; hold a request and release it. Everyone else: 403. Unknown request, or a participant
or sub-processor not on it: 404; an action the request's or delivery's state does not allow:
409."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path

from byggrygg_shared.problems import problem_responses
from privacy_orchestrator.entrypoints.dependencies import Deps, Staff
from privacy_orchestrator.entrypoints.routers.requests import read_request
from privacy_orchestrator.schemas import OperatorReason, RequestRead
from privacy_orchestrator.service_layer import requests

router = APIRouter(tags=["requests"])

RequestId = Annotated[UUID, Path()]
SubProcessorId = Annotated[UUID, Path()]


Participant = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,62}$")]


@router.post(
    "/requests/{request_id}/participants/{participant}/resend",
    summary="Send an escalated participant's command again (platform staff, R13)",
    description="The same command under the same CloudEvent id (the participant applies it "
    "once, or sends its recorded reply again); the participant is waited for again, with a "
    "fresh round of automatic re-sends. 409 unless the participant is escalated and the "
    "request in progress.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def resend_to_participant(
    deps: Deps, caller: Staff, request_id: RequestId, participant: Participant
) -> RequestRead:
    view = await requests.resend_to_participant(deps, caller, request_id, participant)
    return read_request(deps, view)


@router.post(
    "/requests/{request_id}/subprocessors/{subprocessor_id}/resend",
    summary="Send an escalated sub-processor request again (platform staff, R13)",
    description="A new signed message (new webhook-id), due at once; the delivery's retry "
    "rules apply to it again. 409 unless the delivery is escalated.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def resend_sub_processor(
    deps: Deps, caller: Staff, request_id: RequestId, subprocessor_id: SubProcessorId
) -> RequestRead:
    view = await requests.resend_sub_processor(deps, caller, request_id, subprocessor_id)
    return read_request(deps, view)


@router.post(
    "/requests/{request_id}/subprocessors/{subprocessor_id}/close",
    summary="Close an escalated sub-processor request with a written reason (platform staff)",
    description="The sub-processor's part counts as answered, not carried out: the request "
    "can complete, as partially_completed, and its completion record lists the "
    "sub-processor as closed_by_operator with the reason (no personal data in it). 409 "
    "unless the delivery is escalated.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def close_sub_processor(
    deps: Deps,
    caller: Staff,
    request_id: RequestId,
    subprocessor_id: SubProcessorId,
    body: OperatorReason,
) -> RequestRead:
    view = await requests.close_sub_processor(
        deps, caller, request_id, subprocessor_id, reason=body.reason
    )
    return read_request(deps, view)


@router.post(
    "/requests/{request_id}/hold",
    summary="Put an in-progress request on hold with a reason (platform staff)",
    description="Answers are still recorded; the request does not complete until released. "
    "The legal deadline does not move (art. 12(3)): file a deadline extension for that.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def put_on_hold(
    deps: Deps, caller: Staff, request_id: RequestId, body: OperatorReason
) -> RequestRead:
    view = await requests.put_on_hold(deps, caller, request_id, reason=body.reason)
    return read_request(deps, view)


@router.post(
    "/requests/{request_id}/release",
    summary="Release a held request (platform staff)",
    description="Back to in_progress; with every answer in it completes at once.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def release_from_hold(deps: Deps, caller: Staff, request_id: RequestId) -> RequestRead:
    return read_request(deps, await requests.release_from_hold(deps, caller, request_id))
