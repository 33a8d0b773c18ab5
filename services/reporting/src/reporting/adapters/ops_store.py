"""SQL of the ops read model: upserts of the requests' states and the participants' replies,
the parties' response times, and the queries of the ops summary (tables ``ops_requests``,
``ops_replies`` and ``ops_response_times``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal
from uuid import UUID

import asyncpg

from byggrygg_shared.contracts.privacy import ParticipantReplied, RequestStateChanged

# The states a request no longer moves out of.
CLOSED_STATES: Final = ("completed", "partially_completed", "rejected")


async def save_request_state(conn: asyncpg.Connection, changed: RequestStateChanged) -> None:
    """Keep the latest state per request: a change older than the stored one (out of order)
    changes nothing but ``in_progress_at``, and a redelivery writes the same row again."""
    await conn.execute(
        "INSERT INTO ops_requests (request_id, kind, state, change, organisation_id, trigger, "
        "received_at, deadline, deadline_extended, on_hold, escalated, participants_answered, "
        "participants_expected, sub_processors_confirmed, sub_processors_expected, changed_at, "
        "completed_at, in_progress_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
        "NULL) "
        "ON CONFLICT (request_id) DO UPDATE SET kind = EXCLUDED.kind, state = EXCLUDED.state, "
        "change = EXCLUDED.change, organisation_id = EXCLUDED.organisation_id, "
        "trigger = EXCLUDED.trigger, received_at = EXCLUDED.received_at, "
        "deadline = EXCLUDED.deadline, deadline_extended = EXCLUDED.deadline_extended, "
        "on_hold = EXCLUDED.on_hold, escalated = EXCLUDED.escalated, "
        "participants_answered = EXCLUDED.participants_answered, "
        "participants_expected = EXCLUDED.participants_expected, "
        "sub_processors_confirmed = EXCLUDED.sub_processors_confirmed, "
        "sub_processors_expected = EXCLUDED.sub_processors_expected, "
        "changed_at = EXCLUDED.changed_at, completed_at = EXCLUDED.completed_at "
        "WHERE ops_requests.changed_at <= EXCLUDED.changed_at",
        changed.request_id,
        changed.kind,
        changed.state,
        changed.change,
        changed.organisation_id,
        changed.trigger,
        changed.received_at,
        changed.deadline,
        changed.deadline_extended,
        changed.on_hold,
        changed.escalated,
        changed.participants_answered,
        changed.participants_expected,
        changed.sub_processors_confirmed,
        changed.sub_processors_expected,
        changed.changed_at,
        changed.completed_at,
    )
    if changed.response_times:
        await save_response_times(conn, changed)
    if changed.state == "in_progress":
        # The first time the request went in progress, whatever order the changes came in.
        await conn.execute(
            "UPDATE ops_requests SET in_progress_at = LEAST(COALESCE(in_progress_at, $2), $2) "
            "WHERE request_id = $1",
            changed.request_id,
            changed.changed_at,
        )


async def save_response_times(conn: asyncpg.Connection, changed: RequestStateChanged) -> None:
    """Keep each party's latest response time: a party's row changes only for a change at
    least as new as the one it is as of (out of order safe; a redelivery rewrites the same)."""
    await conn.executemany(
        "INSERT INTO ops_response_times (request_id, party_kind, party, asked_at, "
        "responded_at, state, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "ON CONFLICT (request_id, party_kind, party) DO UPDATE SET "
        "asked_at = EXCLUDED.asked_at, responded_at = EXCLUDED.responded_at, "
        "state = EXCLUDED.state, changed_at = EXCLUDED.changed_at "
        "WHERE ops_response_times.changed_at <= EXCLUDED.changed_at",
        [
            (
                changed.request_id,
                item.party_kind,
                item.party,
                item.asked_at,
                item.responded_at,
                item.state,
                changed.changed_at,
            )
            for item in changed.response_times
        ],
    )


async def save_reply(conn: asyncpg.Connection, replied: ParticipantReplied) -> None:
    """Record when a participant replied (the first reply counts; a redelivery is a no-op).
    The subject ref and the export token are not kept: the dashboard needs neither."""
    await conn.execute(
        "INSERT INTO ops_replies (request_id, participant, command, outcome, replied_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id, participant) DO UPDATE SET "
        "command = EXCLUDED.command, outcome = EXCLUDED.outcome, "
        "replied_at = EXCLUDED.replied_at WHERE ops_replies.replied_at > EXCLUDED.replied_at",
        replied.request_id,
        replied.participant,
        replied.command,
        replied.outcome,
        replied.replied_at,
    )


async def state_counts(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT state, count(*) AS n FROM ops_requests GROUP BY state")
    return {row["state"]: int(row["n"]) for row in rows}


_OPEN_COLUMNS: Final = (
    "request_id, kind, state, organisation_id, trigger, received_at, deadline, "
    "deadline_extended, on_hold, escalated, participants_answered, participants_expected, "
    "sub_processors_confirmed, sub_processors_expected, changed_at"
)


OpenFlag = Literal["overdue", "at_risk", "escalated"]


@dataclass(frozen=True)
class OpenFilter:
    """Which open requests to list: all, or one organisation's, or only those overdue
    (deadline before ``today``), at risk (deadline from ``today`` to ``at_risk_until``) or
    escalated."""

    today: date
    at_risk_until: date
    organisation_id: UUID | None = None
    flag: OpenFlag | None = None


# The listing's order, and its keyset: (deadline, received_at, request_id) is unique.
OpenPosition = tuple[date, datetime, UUID]


async def open_requests(
    conn: asyncpg.Connection,
    *,
    limit: int,
    where: OpenFilter,
    after: OpenPosition | None = None,
) -> list[asyncpg.Record]:
    """The requests not closed yet, the earliest deadline first; with ``where``, those it
    keeps; with ``after``, those after that position (the next page: stable however the
    table changes meanwhile, no offset to drift)."""
    deadline, received_at, request_id = after or (None, None, None)
    return list(
        await conn.fetch(
            f"SELECT {_OPEN_COLUMNS} FROM ops_requests WHERE state <> ALL($1::text[]) "  # noqa: S608 - constant columns
            "AND ($3::uuid IS NULL OR organisation_id = $3) "
            "AND ($4::text IS NULL OR ($4 = 'overdue' AND deadline < $5) "
            "    OR ($4 = 'at_risk' AND deadline >= $5 AND deadline <= $6) "
            "    OR ($4 = 'escalated' AND escalated)) "
            "AND ($7::date IS NULL OR (deadline, received_at, request_id) > ($7, $8, $9)) "
            "ORDER BY deadline, received_at, request_id LIMIT $2",
            list(CLOSED_STATES),
            limit,
            where.organisation_id,
            where.flag,
            where.today,
            where.at_risk_until,
            deadline,
            received_at,
            request_id,
        )
    )


async def open_request_counts(
    conn: asyncpg.Connection, *, today: date, at_risk_until: date
) -> asyncpg.Record:
    """How many open requests there are, and how many are overdue, at risk and escalated."""
    row = await conn.fetchrow(
        "SELECT count(*) AS open, "
        "count(*) FILTER (WHERE deadline < $2) AS overdue, "
        "count(*) FILTER (WHERE deadline >= $2 AND deadline <= $3) AS at_risk, "
        "count(*) FILTER (WHERE escalated) AS escalated "
        "FROM ops_requests WHERE state <> ALL($1::text[])",
        list(CLOSED_STATES),
        today,
        at_risk_until,
    )
    assert row is not None  # an aggregate always returns a row
    return row


async def reply_times(conn: asyncpg.Connection, *, since: datetime) -> list[asyncpg.Record]:
    """Per participant, seconds from the request's in_progress change to the reply: p50, p95,
    max and count, over the replies since `since` (replies to requests never seen in progress
    are left out: there is no start to measure from)."""
    return list(
        await conn.fetch(
            "SELECT r.participant, count(*) AS replies, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY s.seconds) AS p50, "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY s.seconds) AS p95, "
            "max(s.seconds) AS max "
            "FROM ops_replies r JOIN ops_requests q ON q.request_id = r.request_id "
            "CROSS JOIN LATERAL (SELECT GREATEST(0, EXTRACT(EPOCH FROM "
            "r.replied_at - q.in_progress_at))::float8 AS seconds) s "
            "WHERE q.in_progress_at IS NOT NULL AND r.replied_at >= $1 "
            "GROUP BY r.participant ORDER BY r.participant",
            since,
        )
    )


async def confirmation_times(conn: asyncpg.Connection, *, since: datetime) -> list[asyncpg.Record]:
    """Per sub-processor, seconds from being asked to its verified confirmation: p50, p95, max
    and count, over the confirmations since `since` (closed by an operator, escalated or
    waiting ones have no confirmation time and are left out)."""
    return list(
        await conn.fetch(
            "SELECT party AS sub_processor, count(*) AS confirmations, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY s.seconds) AS p50, "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY s.seconds) AS p95, "
            "max(s.seconds) AS max "
            "FROM ops_response_times t "
            "CROSS JOIN LATERAL (SELECT GREATEST(0, EXTRACT(EPOCH FROM "
            "t.responded_at - t.asked_at))::float8 AS seconds) s "
            "WHERE t.party_kind = 'sub_processor' AND t.state = 'responded' "
            "AND t.responded_at >= $1 GROUP BY t.party ORDER BY t.party",
            since,
        )
    )
