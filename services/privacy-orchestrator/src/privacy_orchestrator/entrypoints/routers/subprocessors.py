"""/subprocessors: the sub-processor register (R12) and the state of the requests sent to
them (R13), for platform staff. Secrets are never shown: an entry names the files that hold
them.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from byggrygg_shared.inventory import DataCategory
from byggrygg_shared.preconditions import etag, expected_version
from byggrygg_shared.problems import problem_responses
from privacy_orchestrator.domain.subprocessors import DeliveryState, SubProcessor
from privacy_orchestrator.entrypoints.dependencies import Staff
from privacy_orchestrator.service_layer import subprocessors as service
from privacy_orchestrator.service_layer.subprocessors import SubProcessorContext

router = APIRouter(prefix="/subprocessors", tags=["subprocessors"])


def subprocessor_context(request: Request) -> SubProcessorContext:
    ctx = getattr(request.app.state, "subprocessors", None)
    if not isinstance(ctx, SubProcessorContext):
        raise RuntimeError("the app has no SubProcessorContext; bootstrap must install it")
    return ctx


class SubProcessorWrite(BaseModel):
    """A register entry as staff write it; the secrets are files on the orchestrator's host."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    organisation_number: str = Field(
        min_length=9, max_length=11, description="Nine digits (MOD11), spaces allowed."
    )
    data_categories: list[DataCategory] = Field(min_length=1, max_length=20)
    agreement_reference: str = Field(min_length=1, max_length=200)
    agreement_date: date
    endpoint_url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    signing_secret_file: str = Field(
        min_length=1,
        max_length=1000,
        description="File with the secret(s) requests are signed with.",
    )
    callback_secret_file: str = Field(
        min_length=1,
        max_length=1000,
        description="File with the secret(s) callbacks are verified with.",
    )

    def fields(self) -> service.SubProcessorFields:
        return service.SubProcessorFields(
            name=self.name,
            organisation_number=self.organisation_number,
            data_categories=tuple(self.data_categories),
            agreement_reference=self.agreement_reference,
            agreement_date=self.agreement_date,
            endpoint_url=self.endpoint_url,
            signing_secret_file=Path(self.signing_secret_file),
            callback_secret_file=Path(self.callback_secret_file),
        )


class SubProcessorRead(BaseModel):
    """A register entry; the secrets themselves never appear."""

    id: UUID
    name: str
    organisation_number: str
    data_categories: list[DataCategory]
    agreement_reference: str
    agreement_date: date
    endpoint_url: str
    signing_secret_file: str
    callback_secret_file: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, entry: SubProcessor) -> SubProcessorRead:
        return cls(
            id=entry.id,
            name=entry.name,
            organisation_number=entry.organisation_number,
            data_categories=list(entry.data_categories),
            agreement_reference=entry.agreement_reference,
            agreement_date=entry.agreement_date,
            endpoint_url=entry.endpoint_url,
            signing_secret_file=str(entry.signing_secret_file),
            callback_secret_file=str(entry.callback_secret_file),
            version=entry.version,
            created_at=entry.created_at,
            updated_at=entry.updated_at,
        )


class AttemptRead(BaseModel):
    attempt: int
    attempted_at: datetime
    status: int | None
    error: str | None
    outcome: str


class DeliveryRead(BaseModel):
    """One request to one sub-processor and its attempts (no subject ref)."""

    id: UUID
    subprocessor_id: UUID
    subprocessor_name: str
    request_id: UUID
    action: str
    state: DeliveryState
    webhook_id: str
    attempts: int
    next_attempt_at: datetime
    deadline: datetime
    last_status: int | None
    last_error: str | None
    escalation_reason: str | None
    created_at: datetime
    delivered_at: datetime | None
    confirmed_at: datetime | None
    escalated_at: datetime | None
    attempt_log: list[AttemptRead]


def _read(entry: SubProcessor, response: Response) -> SubProcessorRead:
    response.headers["ETag"] = etag(entry.version)
    return SubProcessorRead.of(entry)


@router.get("", summary="The sub-processor register", responses=problem_responses(401, 403))
async def list_subprocessors(request: Request, _staff: Staff) -> list[SubProcessorRead]:
    found = await service.list_subprocessors(subprocessor_context(request))
    return [SubProcessorRead.of(entry) for entry in found]


@router.post(
    "",
    status_code=201,
    summary="Register a sub-processor",
    responses=problem_responses(401, 403, 409, 422),
)
async def add_subprocessor(
    request: Request, body: SubProcessorWrite, _staff: Staff, response: Response
) -> SubProcessorRead:
    entry = await service.add_subprocessor(subprocessor_context(request), body.fields())
    response.headers["Location"] = f"/subprocessors/{entry.id}"
    return _read(entry, response)


@router.get(
    "/deliveries",
    summary="Requests sent to sub-processors, by request or state (escalated ones need action)",
    responses=problem_responses(401, 403, 422),
)
async def list_deliveries(
    request: Request,
    _staff: Staff,
    request_id: Annotated[UUID | None, Query()] = None,
    state: Annotated[DeliveryState | None, Query()] = None,
) -> list[DeliveryRead]:
    found: list[dict[str, Any]] = await service.deliveries(
        subprocessor_context(request), request_id=request_id, state=state
    )
    return [DeliveryRead.model_validate(item) for item in found]


@router.get(
    "/{subprocessor_id}",
    summary="One sub-processor (ETag: its version)",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_subprocessor(
    request: Request, subprocessor_id: UUID, _staff: Staff, response: Response
) -> SubProcessorRead:
    entry = await service.get_subprocessor(subprocessor_context(request), subprocessor_id)
    return _read(entry, response)


@router.put(
    "/{subprocessor_id}",
    summary="Change a sub-processor; needs If-Match with its ETag",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 428),
)
async def update_subprocessor(
    request: Request,
    subprocessor_id: UUID,
    body: SubProcessorWrite,
    _staff: Staff,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> SubProcessorRead:
    expected = expected_version(if_match)
    entry = await service.update_subprocessor(
        subprocessor_context(request), subprocessor_id, body.fields(), expected=expected
    )
    return _read(entry, response)
