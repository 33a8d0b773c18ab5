"""/complaints: questions and complaints (R21), staff only. An open complaint holds the data it
concerns; resolving it (If-Match with the ETag) releases the hold."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response, status

from byggrygg_shared.preconditions import etag, expected_version
from byggrygg_shared.problems import problem_responses
from consent.domain.complaints import ComplaintKind, DataArea, Outcome
from consent.entrypoints.dependencies import Deps, StaffActor
from consent.schemas.complaints import (
    ComplaintCreate,
    ComplaintCreated,
    ComplaintRead,
    ComplaintResolution,
)
from consent.schemas.correspondence import SubjectRef
from consent.service_layer import complaints

router = APIRouter(prefix="/complaints", tags=["complaints"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Record a question, or open a complaint that holds the data it concerns (R21)",
    responses=problem_responses(401, 403, 422),
)
async def open_complaint(body: ComplaintCreate, deps: Deps, actor: StaffActor) -> ComplaintCreated:
    complaint_id = await complaints.handle_open_complaint(
        deps=deps,
        actor=actor,
        kind=ComplaintKind(body.kind),
        organisation_id=body.organisation_id,
        subject_ref=body.subject_ref,
        summary=body.summary,
        concerns=[DataArea(area) for area in body.concerns],
    )
    return ComplaintCreated(complaint_id=complaint_id)


@router.get(
    "",
    summary="Questions and complaints, by person and/or status",
    responses=problem_responses(401, 403, 422),
)
async def list_complaints(
    deps: Deps,
    actor: StaffActor,
    subject_ref: Annotated[SubjectRef | None, Query()] = None,
    status_: Annotated[Literal["open", "resolved"] | None, Query(alias="status")] = None,
) -> list[ComplaintRead]:
    views = await complaints.list_complaints(
        deps=deps, actor=actor, subject_ref=subject_ref, status=status_
    )
    return [ComplaintRead.model_validate(view) for view in views]


@router.get(
    "/{complaint_id}",
    summary="One question or complaint",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_complaint(
    complaint_id: UUID, deps: Deps, actor: StaffActor, response: Response
) -> ComplaintRead:
    view = await complaints.get_complaint(deps=deps, actor=actor, complaint_id=complaint_id)
    response.headers["ETag"] = etag(view.version)
    return ComplaintRead.model_validate(view)


@router.post(
    "/{complaint_id}/resolution",
    summary="Resolve a complaint (releases its hold) or answer a question; needs If-Match",
    description="Resolving a complaint about correspondence processes the person's pending "
    "deletion requests again: what is no longer held is deleted and the person is told.",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 428),
)
async def resolve_complaint(
    complaint_id: UUID,
    body: ComplaintResolution,
    deps: Deps,
    actor: StaffActor,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> ComplaintRead:
    expected = expected_version(if_match)
    await complaints.handle_resolve_complaint(
        deps=deps,
        actor=actor,
        complaint_id=complaint_id,
        outcome=None if body.outcome is None else Outcome(body.outcome),
        resolution_text=body.resolution_text,
        expected_version=expected,
    )
    view = await complaints.get_complaint(deps=deps, actor=actor, complaint_id=complaint_id)
    response.headers["ETag"] = etag(view.version)
    return ComplaintRead.model_validate(view)
