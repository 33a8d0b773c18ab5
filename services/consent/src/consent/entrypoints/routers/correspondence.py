"""/correspondence: the correspondence log (R9) and deletion requests (R10), staff only.

Org admins and contact persons get 403 on every route (R9 data is the operator's); without a
token, 401. Adding a message needs If-Match with the item's ETag (optimistic concurrency).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response, status

from byggrygg_shared.preconditions import etag, expected_version
from byggrygg_shared.problems import BadRequest, problem_responses
from consent.domain.correspondence import EmailMessage, MessageDirection, PhoneContact
from consent.entrypoints.dependencies import Deps, StaffActor
from consent.schemas.correspondence import (
    CorrespondenceCreated,
    CorrespondenceRead,
    DeletionRequestCreate,
    DeletionRequestRead,
    EmailCorrespondenceCreate,
    KeptRead,
    MessageCreate,
    MessageRead,
    NoticeRead,
    PhoneContactCreate,
    SubjectRef,
)
from consent.service_layer import correspondence, correspondence_erasure

router = APIRouter(prefix="/correspondence", tags=["correspondence"])

_STAFF_PROBLEMS = (401, 403, 422)


def _message(message_id: UUID, body: MessageCreate) -> EmailMessage:
    return EmailMessage(
        message_id=message_id,
        direction=MessageDirection(body.direction),
        sent_at=body.sent_at,
        subject=body.subject,
        text=body.text,
    )


def _read(view: correspondence.CorrespondenceView) -> CorrespondenceRead:
    return CorrespondenceRead(
        correspondence_id=view.correspondence_id,
        organisation_id=view.organisation_id,
        subject_ref=view.subject_ref,
        channel="phone" if view.channel == "phone" else "email",
        email_address=view.email_address,
        phone_number=view.phone_number,
        person_name=view.person_name,
        summary=view.summary,
        contacted_at=view.contacted_at,
        logged_at=view.logged_at,
        logged_by=view.logged_by,
        contract_ended_on=view.contract_ended_on,
        retain_until=view.retain_until,
        version=view.version,
        messages=[MessageRead.model_validate(message) for message in view.messages],
    )


@router.post(
    "/email",
    status_code=status.HTTP_201_CREATED,
    summary="Log an e-mail correspondence: the person's address and the messages (R9)",
    responses=problem_responses(*_STAFF_PROBLEMS),
)
async def log_email(
    body: EmailCorrespondenceCreate, deps: Deps, actor: StaffActor
) -> CorrespondenceCreated:
    logged = await correspondence.handle_log_email(
        deps=deps,
        actor=actor,
        organisation_id=body.organisation_id,
        subject_ref=body.subject_ref,
        email_address=str(body.email_address),
        messages=[_message(deps.ids.new_id(), message) for message in body.messages],
    )
    return CorrespondenceCreated(
        correspondence_id=logged.correspondence_id, subject_ref=logged.subject_ref
    )


@router.post(
    "/phone",
    status_code=status.HTTP_201_CREATED,
    summary="Log a phone contact: number, the person's name and a written summary (R9)",
    responses=problem_responses(*_STAFF_PROBLEMS),
)
async def log_phone(
    body: PhoneContactCreate, deps: Deps, actor: StaffActor
) -> CorrespondenceCreated:
    logged = await correspondence.handle_log_phone(
        deps=deps,
        actor=actor,
        organisation_id=body.organisation_id,
        subject_ref=body.subject_ref,
        contact=PhoneContact(
            phone_number=body.phone_number,
            person_name=body.person_name,
            summary=body.summary,
            contacted_at=body.contacted_at,
        ),
    )
    return CorrespondenceCreated(
        correspondence_id=logged.correspondence_id, subject_ref=logged.subject_ref
    )


@router.get(
    "",
    summary="A person's or an organisation's correspondence, with retention dates (R9)",
    responses=problem_responses(*_STAFF_PROBLEMS),
)
async def list_correspondence(
    deps: Deps,
    actor: StaffActor,
    subject_ref: Annotated[SubjectRef | None, Query()] = None,
    organisation_id: Annotated[UUID | None, Query()] = None,
) -> list[CorrespondenceRead]:
    if subject_ref is None and organisation_id is None:
        raise BadRequest("Give subject_ref or organisation_id.")
    views = await correspondence.list_correspondence(
        deps=deps, actor=actor, subject_ref=subject_ref, organisation_id=organisation_id
    )
    return [_read(view) for view in views]


@router.get(
    "/deletion-requests/{request_id}",
    summary="A deletion request: what was deleted, what is kept and why, the notices (R10)",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_deletion_request(
    request_id: UUID, deps: Deps, actor: StaffActor
) -> DeletionRequestRead:
    return _deletion_read(
        await correspondence_erasure.get_deletion(deps=deps, actor=actor, request_id=request_id)
    )


@router.post(
    "/deletion-requests",
    status_code=status.HTTP_201_CREATED,
    summary="Record and process a person's request to delete all their correspondence (R10)",
    description="Deletes every item no hold protects. Items kept (an open complaint, a legal "
    "claim) are listed with the reason, and the person is told by e-mail what is kept and why. "
    "A kept item is deleted, and the person told, when its complaint is resolved.",
    responses=problem_responses(*_STAFF_PROBLEMS),
)
async def request_deletion(
    body: DeletionRequestCreate, deps: Deps, actor: StaffActor, response: Response
) -> DeletionRequestRead:
    request_id = await correspondence_erasure.handle_request_deletion(
        deps=deps,
        actor=actor,
        subject_ref=body.subject_ref,
        notify_address=str(body.notify_address),
    )
    response.headers["Location"] = f"deletion-requests/{request_id}"
    return _deletion_read(
        await correspondence_erasure.get_deletion(deps=deps, actor=actor, request_id=request_id)
    )


@router.get(
    "/{correspondence_id}",
    summary="One correspondence item with its messages",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_correspondence(
    correspondence_id: UUID, deps: Deps, actor: StaffActor, response: Response
) -> CorrespondenceRead:
    view = await correspondence.get_correspondence(
        deps=deps, actor=actor, correspondence_id=correspondence_id
    )
    response.headers["ETag"] = etag(view.version)
    return _read(view)


@router.post(
    "/{correspondence_id}/messages",
    status_code=status.HTTP_201_CREATED,
    summary="Add a message to an e-mail correspondence; needs If-Match with the item's ETag",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 428),
)
async def add_message(
    correspondence_id: UUID,
    body: MessageCreate,
    deps: Deps,
    actor: StaffActor,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> CorrespondenceRead:
    expected = expected_version(if_match)
    await correspondence.handle_record_message(
        deps=deps,
        actor=actor,
        correspondence_id=correspondence_id,
        message=_message(deps.ids.new_id(), body),
        expected_version=expected,
    )
    view = await correspondence.get_correspondence(
        deps=deps, actor=actor, correspondence_id=correspondence_id
    )
    response.headers["ETag"] = etag(view.version)
    return _read(view)


def _deletion_read(view: correspondence_erasure.DeletionView) -> DeletionRequestRead:
    return DeletionRequestRead(
        request_id=view.request_id,
        subject_ref=view.subject_ref,
        status="completed"
        if view.status == "completed"
        else "pending"
        if view.status == "pending"
        else "received",
        deleted_count=view.deleted_count,
        kept_count=view.kept_count,
        kept=[
            KeptRead(correspondence_id=item.correspondence_id, reason=item.reason.value)
            for item in view.kept
        ],
        notices=[NoticeRead.model_validate(notice) for notice in view.notices],
        requested_at=view.requested_at,
        requested_by=view.requested_by,
        processed_at=view.processed_at,
        version=view.version,
    )
