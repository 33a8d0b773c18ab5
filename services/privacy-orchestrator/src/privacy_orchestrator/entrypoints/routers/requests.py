"""/requests: data-subject requests (R14-R18): filing, a contact person's decision, reading;
/holds: legal holds as data (R16), kept by platform staff."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response, status

from byggrygg_shared.contracts.privacy import Hold
from byggrygg_shared.problems import problem_responses
from privacy_orchestrator.adapters.request_store import RequestView
from privacy_orchestrator.domain.records import RequestKind
from privacy_orchestrator.domain.request import FINAL_STATES, RequestState
from privacy_orchestrator.entrypoints.dependencies import Caller, ContactPerson, Deps, Staff
from privacy_orchestrator.schemas import (
    SUBJECT_REF_PATTERN,
    DeadlineExtend,
    DeadlineExtensionRead,
    HoldCreate,
    HoldRead,
    ParticipantProgress,
    RequestCreate,
    RequestDecision,
    RequestExportRead,
    RequestHoldRead,
    RequestRead,
    SubProcessorProgress,
)
from privacy_orchestrator.service_layer import requests, triggers
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.exports import export_link

router = APIRouter(tags=["requests"])

RequestId = Annotated[UUID, Path()]


def read_request(deps: Dependencies, view: RequestView) -> RequestRead:
    """A request's view as its readers see it (also for the operator actions' router)."""
    now = deps.clock()
    today = now.date()
    return RequestRead(
        request_id=view.request_id,
        kind=view.kind,
        state=view.state,
        subject_ref=view.subject_ref,
        organisation_id=view.organisation_id,
        requested_by_role=view.requested_by_role,
        trigger=view.trigger,
        received_at=view.received_at,
        deadline=view.deadline,
        overdue=RequestState(view.state) not in FINAL_STATES and today > view.deadline,
        participants={
            name: ParticipantProgress.model_validate(progress)
            for name, progress in view.participants.items()
        },
        sub_processors=[SubProcessorProgress.model_validate(item) for item in view.sub_processors],
        deadline_extension=None
        if view.deadline_extension is None
        else DeadlineExtensionRead.model_validate(view.deadline_extension),
        reason=view.reason,
        completed_at=view.completed_at,
        notice=view.notice,
        on_hold=None if view.on_hold is None else RequestHoldRead.model_validate(view.on_hold),
        export=_export_read(deps, view, now),
    )


def _export_read(deps: Dependencies, view: RequestView, now: datetime) -> RequestExportRead | None:
    if view.export is None:
        return None
    stored = RequestExportRead(url=export_link(deps, view.request_id), **view.export)
    # Expired but not yet purged (the expiry worker's next pass): already gone for the download.
    return stored if stored.expires_at > now else None


@router.post(
    "/requests",
    status_code=status.HTTP_201_CREATED,
    summary="File a data-subject request",
    description="About yourself (omit `subject_ref`; approved at once, R17); as platform staff "
    "about any subject; as an organisation's contact person, forwarding an employee's request "
    "(it waits for a contact person's approval, R18). A rectification names its "
    "`corrections` (R15). `organisation_id` is for staff only (anyone else: 403).",
    responses=problem_responses(401, 403, 409, 422),
)
async def file_request(deps: Deps, caller: Caller, body: RequestCreate) -> RequestRead:
    view = await requests.file_request(
        deps,
        caller,
        kind=RequestKind(body.kind),
        subject_ref=body.subject_ref,
        organisation_id=body.organisation_id,
        corrections=None if body.corrections is None else body.corrections.values(),
        notify_email=body.notify_email,
    )
    return read_request(deps, view)


@router.post(
    "/requests/{request_id}/approve",
    summary="Approve a forwarded request (contact person of its organisation)",
    responses=problem_responses(401, 403, 404, 409),
)
async def approve(deps: Deps, caller: ContactPerson, request_id: RequestId) -> RequestRead:
    return read_request(deps, await requests.decide(deps, caller, request_id, approve=True))


@router.post(
    "/requests/{request_id}/reject",
    summary="Reject a forwarded request with a reason (contact person of its organisation)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def reject(
    deps: Deps, caller: ContactPerson, request_id: RequestId, body: RequestDecision
) -> RequestRead:
    view = await requests.decide(deps, caller, request_id, approve=False, reason=body.reason)
    return read_request(deps, view)


@router.get(
    "/requests/{request_id}",
    summary="One data-subject request",
    description="Who filed it, its subject, its organisation's contact persons and staff.",
    responses=problem_responses(401, 404, 422),
)
async def get_request(deps: Deps, caller: Caller, request_id: RequestId) -> RequestRead:
    return read_request(deps, await requests.get_request(deps, caller, request_id))


@router.get(
    "/requests",
    summary="Data-subject requests (platform staff), oldest first",
    responses=problem_responses(401, 403, 422),
)
async def list_requests(
    deps: Deps,
    _staff: Staff,
    state: Annotated[RequestState | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="Only overdue (or not overdue).")] = None,
    escalated: Annotated[
        bool | None,
        Query(description="Only requests with (or without) an escalated sub-processor."),
    ] = None,
    subject_ref: Annotated[
        str | None,
        Query(pattern=SUBJECT_REF_PATTERN, description="Only the requests about this subject."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RequestRead]:
    found = await requests.list_requests(
        deps,
        state=None if state is None else state.value,
        limit=limit,
        overdue=overdue,
        escalated=escalated,
        subject_ref=subject_ref,
    )
    return [read_request(deps, view) for view in found]


@router.post(
    "/requests/{request_id}/extend-deadline",
    summary="Extend an open request's deadline by one or two months (platform staff)",
    description="Once per request, with a reason code (art. 12(3)); the person must be told "
    "why within the first month.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def extend_deadline(
    deps: Deps, caller: Staff, request_id: RequestId, body: DeadlineExtend
) -> RequestRead:
    view = await requests.extend_deadline(
        deps, caller, request_id, months=body.months, reason=body.reason
    )
    return read_request(deps, view)


@router.post(
    "/holds",
    status_code=status.HTTP_201_CREATED,
    summary="Record a legal hold on a subject's data (platform staff, R16)",
    responses=problem_responses(401, 403, 422),
)
async def add_hold(deps: Deps, _staff: Staff, body: HoldCreate) -> HoldRead:
    hold = Hold(
        hold_id=deps.ids.new_id(),
        basis=body.basis,
        categories=list(body.categories),
        keep_until=body.keep_until,
    )
    await requests.add_hold(deps, subject_ref=body.subject_ref, hold=hold)
    return HoldRead(hold_id=hold.hold_id)


@router.delete(
    "/holds/{hold_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Release a legal hold (platform staff)",
    responses=problem_responses(401, 403, 404, 422),
    response_class=Response,
)
async def release_hold(deps: Deps, _staff: Staff, hold_id: Annotated[UUID, Path()]) -> Response:
    # Releasing erases what the subject's last erasure kept, if anything (R16).
    await triggers.release_hold(deps, hold_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
