"""Ops dashboard routes (platform staff only: 401 without a token, 403 with another role):
where the data-subject requests stand (R13, R19) and the health of Kafka. Nothing personal:
requests by id, organisation and counts only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from byggrygg_shared.problems import ServiceUnavailable, problem_responses
from reporting.entrypoints.dependencies import StaffActor
from reporting.service_layer import ops

router = APIRouter(prefix="/ops", tags=["ops"])


def get_ops(request: Request) -> ops.Ops:
    found = getattr(request.app.state, "ops", None)
    if not isinstance(found, ops.Ops):
        raise RuntimeError("the app has no Ops; bootstrap must install them")
    return found


OpsDeps = Annotated[ops.Ops, Depends(get_ops)]


class _Read(BaseModel):
    model_config = ConfigDict(frozen=True)


class OpenRequestRead(_Read):
    request_id: UUID
    kind: str
    state: str
    organisation_id: UUID | None
    trigger: str | None
    received_at: datetime
    deadline: date
    deadline_extended: bool
    on_hold: bool
    escalated: bool
    overdue: bool
    at_risk: bool
    participants_answered: int
    participants_expected: int
    sub_processors_confirmed: int
    sub_processors_expected: int
    changed_at: datetime


class ReplyTimesRead(_Read):
    participant: str
    replies: int
    p50_seconds: float
    p95_seconds: float
    max_seconds: float


class ConfirmationTimesRead(_Read):
    """Seconds from a sub-processor being asked (the fan-out) to its verified confirmation."""

    sub_processor: str
    confirmations: int
    p50_seconds: float
    p95_seconds: float
    max_seconds: float


class RequestsSummaryRead(_Read):
    """``overdue``/``at_risk`` are as of ``today`` (the query's, UTC), not of the last change.
    ``open_requests`` lists at most 500, the earliest deadline first (``open_requests_next``
    pages on through the rest); the counts cover all."""

    today: date
    at_risk_days: int
    by_state: dict[str, int]
    open: int
    overdue: int
    at_risk: int
    escalated: int
    open_requests: list[OpenRequestRead]
    open_requests_next: str | None = Field(
        description="More open requests than listed: the cursor of the rest "
        "(GET /ops/requests/open?after=...); null when every open request is listed."
    )
    reply_window_days: int
    reply_times: list[ReplyTimesRead]
    confirmation_times: list[ConfirmationTimesRead]


class OpenPageRead(_Read):
    """A page of the open requests, the earliest deadline first; ``overdue``/``at_risk`` as of
    ``today`` (UTC)."""

    today: date
    items: list[OpenRequestRead]
    next: str | None = Field(description="The cursor of the next page; null on the last.")


class TopicLagRead(_Read):
    topic: str
    lag: int
    partitions: int


class GroupLagRead(_Read):
    group: str
    lag: int
    topics: list[TopicLagRead]


class DeadLettersRead(_Read):
    topic: str
    messages: int


class KafkaHealthRead(_Read):
    """Topic names without the deployment's prefix. A group's lag counts only the partitions
    it has committed an offset for."""

    groups: list[GroupLagRead]
    dead_letters: list[DeadLettersRead]


@router.get(
    "/requests/summary",
    summary="Data-subject requests by state; open, overdue, at-risk and escalated ones; "
    "the participants' reply times and the sub-processors' confirmation times",
    responses=problem_responses(401, 403),
)
async def requests_summary(deps: OpsDeps, actor: StaffActor) -> RequestsSummaryRead:
    summary = await ops.requests_summary(deps)
    return RequestsSummaryRead.model_validate(summary, from_attributes=True)


@router.get(
    "/requests/open",
    summary="Open data-subject requests page by page, earliest deadline first; one "
    "organisation's, or only the overdue, at-risk or escalated ones",
    description="`after`: the `next` of the previous page (or the summary's "
    "`open_requests_next`); a cursor this service did not give is 422. Paging is by position, "
    "so requests that change meanwhile are neither skipped nor listed twice unless their "
    "deadline moved.",
    responses=problem_responses(401, 403, 422),
)
async def open_requests(
    deps: OpsDeps,
    actor: StaffActor,
    limit: Annotated[int, Query(ge=1, le=ops.OPEN_LIST_LIMIT)] = 100,
    after: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    organisation_id: UUID | None = None,
    flag: ops.OpenFlag | None = None,
) -> OpenPageRead:
    page = await ops.open_page(
        deps, limit=limit, after=after, organisation_id=organisation_id, flag=flag
    )
    return OpenPageRead.model_validate(page, from_attributes=True)


@router.get(
    "/kafka",
    summary="Consumer lag per consumer group and dead-letter counts of the deployment's topics",
    responses=problem_responses(401, 403, 503),
)
async def kafka_health(deps: OpsDeps, actor: StaffActor) -> KafkaHealthRead:
    try:
        health = await ops.kafka_health(deps)
    except (KafkaError, OSError) as error:
        raise ServiceUnavailable("Kafka cannot be reached right now.") from error
    return KafkaHealthRead.model_validate(health, from_attributes=True)
