"""The ops dashboard's queries (staff only): where the data-subject requests stand, how fast
the participants reply and the sub-processors confirm, and the health of Kafka (lag, dead
letters).

``Ops`` holds what they need; bootstrap builds it (``app.state.ops``). "Today" comes from the
injectable clock at query time, so overdue and at-risk figures are live, not as of the last
event: a request is overdue when its deadline is before today (UTC), at risk when its
deadline is today or within ``at_risk_days`` days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final
from uuid import UUID

import asyncpg

from byggrygg_shared.sources import Clock
from reporting.adapters import ops_store
from reporting.adapters.kafka_health import KafkaHealth, KafkaProbe

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
        rows = await ops_store.open_requests(conn, limit=OPEN_LIST_LIMIT)
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
            OpenRequest(
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
            for row in rows
        ),
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


async def kafka_health(ops: Ops) -> KafkaHealth:
    """Consumer lag per group and dead letters per ``.dlq`` topic of the deployment."""
    return await ops.kafka.health()
