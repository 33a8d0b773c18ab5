"""Automatic erasures in the orchestrator's database: one subject at a time, each trigger once.

``automatic_erasures`` keeps every trigger that asked for an erasure (its id is the primary
key) with the request it filed, or the open erasure that already covered the subject; the
trigger is claimed before the request is filed, in the same transaction. A
transaction-scoped advisory lock per subject serialises concurrent triggers of one subject (a
revoked licence arriving while a contract end's batch files the same person), so the second
finds the first's request open instead of filing another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import Final
from uuid import UUID

import asyncpg

from privacy_orchestrator.domain.request import FINAL_STATES

_FINAL: Final = sorted(state.value for state in FINAL_STATES)


class Claim(Enum):
    """What a trigger's claim found."""

    FILE_NEW = "file_new"  # the caller files the new request
    COVERED_BY_OPEN = "covered_by_open"  # an erasure of the subject is open: it covers this
    USED_BEFORE = "used_before"  # this trigger asked before (a redelivery, a resumed batch)


async def lock_subjects(conn: asyncpg.Connection, subject_refs: Sequence[str]) -> None:
    """Hold the subjects' erasure locks until the transaction ends (sorted: no deadlock
    between two callers locking overlapping sets)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('privacy-orchestrator-erasure:' || s, 0))"
        " FROM unnest($1::text[]) AS s",  # in the sorted order given
        sorted(set(subject_refs)),
    )


async def claim_trigger(
    conn: asyncpg.Connection,
    *,
    trigger_id: UUID,
    trigger: str,
    subject_ref: str,
    new_request_id: UUID,
    at: datetime,
) -> Claim:
    """Record the trigger against the subject's open erasure if there is one, else against
    `new_request_id` (the request the caller is to file). One round trip: a contract end
    asks this for every subject. Call with the subject's lock held (`lock_subjects`)."""
    filed = await conn.fetchval(
        "WITH open AS (SELECT request_id FROM requests WHERE subject_ref = $3"
        "  AND kind = 'erasure' AND state <> ALL($4::text[]) ORDER BY received_at LIMIT 1)"
        " INSERT INTO automatic_erasures (trigger_id, trigger, request_id, filed, recorded_at)"
        " SELECT $1, $2, coalesce(open.request_id, $5), open.request_id IS NULL, $6"
        " FROM (SELECT 1) AS one LEFT JOIN open ON true"
        " ON CONFLICT (trigger_id) DO NOTHING RETURNING filed",
        trigger_id,
        trigger,
        subject_ref,
        _FINAL,
        new_request_id,
        at,
    )
    if filed is None:
        return Claim.USED_BEFORE
    return Claim.FILE_NEW if filed else Claim.COVERED_BY_OPEN


async def follow_up_waiting_on(
    conn: asyncpg.Connection, request_id: UUID, triggers: Iterable[str]
) -> tuple[UUID, str] | None:
    """The first of ``triggers`` recorded against the erasure ``request_id`` while it was open
    (not filed): its id and code, or None."""
    row = await conn.fetchrow(
        "SELECT trigger_id, trigger FROM automatic_erasures"
        " WHERE request_id = $1 AND NOT filed AND trigger = ANY($2::text[])"
        " ORDER BY recorded_at, trigger_id LIMIT 1",
        request_id,
        sorted(triggers),
    )
    return None if row is None else (row["trigger_id"], row["trigger"])
