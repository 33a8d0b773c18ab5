"""Cookie choices and analytics in storage (R11): the ``cookie_choices`` projection, accepted
``analytics_events`` and the ``analytics_drops`` counts (which hold no visitor id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from consent.domain.cookies import CookieChoice, DropReason


def visitor_stream(visitor_ref: str) -> str:
    return f"visitor-{visitor_ref}"


def _choice(row: asyncpg.Record) -> CookieChoice:
    return CookieChoice(
        visitor_ref=row["visitor_ref"],
        analytics=row["analytics"],
        recorded_at=row["recorded_at"],
        policy_version=row["policy_version"],
        wording_sha256=row["wording_sha256"],
    )


async def current_choice(
    conn: asyncpg.Connection | asyncpg.Pool, visitor_ref: str, *, lock: bool = False
) -> tuple[CookieChoice, int] | None:
    """The visitor's current choice and its stream version, or None."""
    row = await conn.fetchrow(
        "SELECT visitor_ref, analytics, recorded_at, policy_version, wording_sha256, version "
        "FROM cookie_choices WHERE visitor_ref = $1" + (" FOR UPDATE" if lock else ""),
        visitor_ref,
    )
    return None if row is None else (_choice(row), int(row["version"]))


async def project_choice(conn: asyncpg.Connection, choice: CookieChoice, *, version: int) -> None:
    """The choice supersedes the visitor's previous one."""
    await conn.execute(
        "INSERT INTO cookie_choices (visitor_ref, analytics, policy_version, wording_sha256, "
        "recorded_at, version) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (visitor_ref) DO "
        "UPDATE SET analytics = $2, policy_version = $3, wording_sha256 = $4, recorded_at = $5, "
        "version = $6",
        choice.visitor_ref,
        choice.analytics,
        choice.policy_version,
        choice.wording_sha256,
        choice.recorded_at,
        version,
    )


async def store_analytics_event(
    conn: asyncpg.Connection,
    *,
    event_id: UUID,
    visitor_ref: str,
    event_kind: str,
    page_path: str,
    received_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO analytics_events (analytics_event_id, visitor_ref, event_kind, page_path, "
        "received_at) VALUES ($1, $2, $3, $4, $5)",
        event_id,
        visitor_ref,
        event_kind,
        page_path,
        received_at,
    )


async def count_drop(conn: asyncpg.Connection, *, day: date, reason: DropReason) -> None:
    await conn.execute(
        "INSERT INTO analytics_drops (day, reason, dropped) VALUES ($1, $2, 1) "
        "ON CONFLICT (day, reason) DO UPDATE SET dropped = analytics_drops.dropped + 1",
        day,
        reason.value,
    )


@dataclass(frozen=True)
class DropCount:
    day: date
    reason: str
    dropped: int


async def drop_counts(conn: asyncpg.Connection | asyncpg.Pool) -> list[DropCount]:
    rows = await conn.fetch(
        "SELECT day, reason, dropped FROM analytics_drops ORDER BY day DESC, reason"
    )
    return [DropCount(row["day"], row["reason"], int(row["dropped"])) for row in rows]


@dataclass(frozen=True)
class EventCount:
    day: date
    event_kind: str
    page_path: str
    events: int


async def event_counts(conn: asyncpg.Connection | asyncpg.Pool) -> list[EventCount]:
    """Stored events per day, kind and page: statistics, without visitor refs."""
    rows = await conn.fetch(
        "SELECT (received_at AT TIME ZONE 'UTC')::date AS day, event_kind, page_path, "
        "count(*) AS events FROM analytics_events GROUP BY 1, 2, 3 ORDER BY 1 DESC, 2, 3"
    )
    return [
        EventCount(row["day"], row["event_kind"], row["page_path"], int(row["events"]))
        for row in rows
    ]
