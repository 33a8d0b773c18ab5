"""The ops dashboard's queries (staff only): where the data-subject requests stand, how fast
the participants reply and the sub-processors confirm, and the health of Kafka (lag, dead
letters).

``Ops`` holds what they need; bootstrap builds it (``app.state.ops``). "Today" comes from the
injectable clock at query time, so overdue and at-risk figures are live, not as of the last
event: a request is overdue when its deadline is before today (UTC), at risk when its
deadline is today or within ``at_risk_days`` days.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final
from uuid import UUID

import asyncpg

from byggrygg_shared.sources import Clock
from reporting.adapters import ops_store
from reporting.adapters.kafka_health import KafkaHealth, KafkaProbe
from reporting.adapters.ops_store import OpenFilter, OpenFlag
from reporting.service_layer.errors import ServiceError

__all__ = [
    "OPEN_LIST_LIMIT",
    "ConfirmationTimes",
    "InvalidCursor",
    "OpenFlag",
    "OpenPage",
    "OpenRequest",
    "Ops",
    "ReplyTimes",
    "RequestsSummary",
    "kafka_health",
    "open_page",
    "requests_summary",
]

# The open requests listed in a summary at most (the counts always cover all of them).
OPEN_LIST_LIMIT: Final = 500


@dataclass(frozen=True)
class Ops:
    pool: asyncpg.Pool
    clock: Clock
    kafka: KafkaProbe
    at_risk_days: int = 7
    reply_window_days: int = 30


@dataclass(frozen=True)
class OpenRequest:
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


@dataclass(frozen=True)
class ReplyTimes:
    """Seconds from a request's in_progress change to one participant's reply."""

    participant: str
    replies: int
    p50_seconds: float
    p95_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class ConfirmationTimes:
    """Seconds from a sub-processor being asked (the fan-out) to its verified confirmation."""

    sub_processor: str
    confirmations: int
    p50_seconds: float
    p95_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class RequestsSummary:
    today: date
    at_risk_days: int
    by_state: dict[str, int]
    open: int
    overdue: int
    at_risk: int
    escalated: int
    open_requests: tuple[OpenRequest, ...]
    open_requests_next: str | None  # the cursor of the next page (open_page), if any
    reply_window_days: int
    reply_times: tuple[ReplyTimes, ...]
    confirmation_times: tuple[ConfirmationTimes, ...]


async def requests_summary(ops: Ops) -> RequestsSummary:
    """Counts by state, the open requests (earliest deadline first) with their overdue and
    at-risk flags as of today, and the participants' reply times and the sub-processors'
    confirmation times over the window."""
    now = ops.clock()
    today = now.astimezone(UTC).date()
    at_risk_until = today + timedelta(days=ops.at_risk_days)
    async with ops.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        # One snapshot: the counts and the list agree.
        by_state = await ops_store.state_counts(conn)
        counts = await ops_store.open_request_counts(conn, today=today, at_risk_until=at_risk_until)
        rows = await ops_store.open_requests(
            conn, limit=OPEN_LIST_LIMIT + 1, where=OpenFilter(today, at_risk_until)
        )
        since = now - timedelta(days=ops.reply_window_days)
        times = await ops_store.reply_times(conn, since=since)
        confirmations = await ops_store.confirmation_times(conn, since=since)
    return RequestsSummary(
        today=today,
        at_risk_days=ops.at_risk_days,
        by_state=dict(sorted(by_state.items())),
        open=int(counts["open"]),
        overdue=int(counts["overdue"]),
        at_risk=int(counts["at_risk"]),
        escalated=int(counts["escalated"]),
        open_requests=tuple(
            _open_request(row, today, at_risk_until) for row in rows[:OPEN_LIST_LIMIT]
        ),
        open_requests_next=_next_cursor(rows, OPEN_LIST_LIMIT),
        reply_window_days=ops.reply_window_days,
        reply_times=tuple(
            ReplyTimes(
                participant=row["participant"],
                replies=int(row["replies"]),
                p50_seconds=float(row["p50"]),
                p95_seconds=float(row["p95"]),
                max_seconds=float(row["max"]),
            )
            for row in times
        ),
        confirmation_times=tuple(
            ConfirmationTimes(
                sub_processor=row["sub_processor"],
                confirmations=int(row["confirmations"]),
                p50_seconds=float(row["p50"]),
                p95_seconds=float(row["p95"]),
                max_seconds=float(row["max"]),
            )
            for row in confirmations
        ),
    )


@dataclass(frozen=True)
class OpenPage:
    today: date
    items: tuple[OpenRequest, ...]
    next: str | None  # the cursor of the page after this one; None: this is the last


class InvalidCursor(ServiceError):
    """A page cursor this service did not hand out (or one damaged on the way)."""


def _cursor(row: asyncpg.Record) -> str:
    position = f"{row['deadline'].isoformat()}|{row['received_at'].isoformat()}|{row['request_id']}"
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def _position(cursor: str) -> ops_store.OpenPosition:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        deadline, received_at, request_id = text.split("|")
        moment = datetime.fromisoformat(received_at)
        if moment.tzinfo is None:
            raise ValueError("a cursor's time has its zone")
        return date.fromisoformat(deadline), moment, UUID(request_id)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidCursor() from None


def _next_cursor(rows: list[asyncpg.Record], limit: int) -> str | None:
    """The cursor after the page's last row, if the query found one more (``limit + 1``)."""
    return _cursor(rows[limit - 1]) if len(rows) > limit else None


def _open_request(row: asyncpg.Record, today: date, at_risk_until: date) -> OpenRequest:
    return OpenRequest(
        request_id=row["request_id"],
        kind=row["kind"],
        state=row["state"],
        organisation_id=row["organisation_id"],
        trigger=row["trigger"],
        received_at=row["received_at"],
        deadline=row["deadline"],
        deadline_extended=row["deadline_extended"],
        on_hold=row["on_hold"],
        escalated=row["escalated"],
        overdue=row["deadline"] < today,
        at_risk=today <= row["deadline"] <= at_risk_until,
        participants_answered=row["participants_answered"],
        participants_expected=row["participants_expected"],
        sub_processors_confirmed=row["sub_processors_confirmed"],
        sub_processors_expected=row["sub_processors_expected"],
        changed_at=row["changed_at"],
    )


async def open_page(
    ops: Ops,
    *,
    limit: int,
    after: str | None = None,
    organisation_id: UUID | None = None,
    flag: OpenFlag | None = None,
) -> OpenPage:
    """One page of the open requests, earliest deadline first, from the position ``after``
    (a cursor of an earlier page or of the summary; ``InvalidCursor`` for anything else),
    optionally one organisation's or only those with ``flag`` as of today."""
    position = None if after is None else _position(after)
    today = ops.clock().astimezone(UTC).date()
    at_risk_until = today + timedelta(days=ops.at_risk_days)
    where = ops_store.OpenFilter(today, at_risk_until, organisation_id=organisation_id, flag=flag)
    async with ops.pool.acquire() as conn:
        rows = await ops_store.open_requests(conn, limit=limit + 1, where=where, after=position)
    return OpenPage(
        today=today,
        items=tuple(_open_request(row, today, at_risk_until) for row in rows[:limit]),
        next=_next_cursor(rows, limit),
    )


async def kafka_health(ops: Ops) -> KafkaHealth:
    """Consumer lag per group and dead letters per ``.dlq`` topic of the deployment."""
    return await ops.kafka.health()
