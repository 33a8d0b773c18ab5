"""Contract ends in the orchestrator's database (``contract_ends``): the export offer, the
retention claims and the erasure's progress, one row per organisation.

The retention scheduler takes a contract end under a transaction-scoped advisory lock
(``pg_try_advisory_xact_lock``), so two orchestrator processes never work on the same one; each
batch counts its filings on the row in its own transaction, and the ``cursor`` (the last
subject of a chunk whose batches all committed) moves after them: a crash loses at most the
chunk in hand, whose subjects the next pass finds already filed (their trigger ids) or files.

A contract end recorded or an offer declined notifies ``RETENTION_CHANNEL`` in its transaction
(delivered on commit): the scheduler starts at once instead of at its next poll, so an offer of
0 days, or one the contact person ended, is erased without waiting out the poll's interval.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final
from uuid import UUID

import asyncpg

from byggrygg_shared.contracts.identity import RetentionClaim
from privacy_orchestrator.domain.triggers import ContractEndState, OfferOutcome

# The NOTIFY channel the retention scheduler LISTENs on (``service_layer.retention``).
RETENTION_CHANNEL: Final = "privacy_orchestrator_retention"


@dataclass(frozen=True)
class ContractEndView:
    """A contract end as its controller and staff see it (no subject refs)."""

    contract_end_id: UUID
    organisation_id: UUID
    ended_on: date
    retention: list[RetentionClaim]
    recorded_at: datetime
    offer_until: datetime
    state: ContractEndState
    offer_ended_at: datetime | None
    offer_outcome: OfferOutcome | None
    filed: int
    erased_at: datetime | None


@dataclass(frozen=True)
class Progress:
    """Where the scheduler is with one contract end (the cursor is a subject ref: internal)."""

    contract_end_id: UUID
    organisation_id: UUID
    cursor: str | None


@dataclass(frozen=True)
class OfferToRemind:
    """An open export offer whose contact persons are to be reminded that it ends."""

    organisation_id: UUID
    ended_on: date
    offer_until: datetime


# How many contract ends under erasure one pass looks at to find one nobody works on.
_CANDIDATES: Final = 16

_COLUMNS: Final = (
    "contract_end_id, organisation_id, ended_on, retention::text AS retention, recorded_at,"
    " offer_until, state, offer_ended_at, offer_outcome, filed, erased_at"
)


def _view(row: asyncpg.Record) -> ContractEndView:
    values: dict[str, Any] = dict(row)
    values["retention"] = [RetentionClaim.model_validate(c) for c in json.loads(row["retention"])]
    values["state"] = ContractEndState(row["state"])
    outcome = row["offer_outcome"]
    values["offer_outcome"] = None if outcome is None else OfferOutcome(outcome)
    return ContractEndView(**values)


async def record_contract_end(
    conn: asyncpg.Connection,
    *,
    contract_end_id: UUID,
    organisation_id: UUID,
    ended_on: date,
    retention: list[RetentionClaim],
    recorded_at: datetime,
    offer_until: datetime,
) -> bool:
    """Record the contract end with its offer; False if the organisation's is recorded."""
    inserted = await conn.fetchval(
        "INSERT INTO contract_ends (contract_end_id, organisation_id, ended_on, retention,"
        " recorded_at, offer_until, state, filed)"
        " VALUES ($1, $2, $3, $4::text::jsonb, $5, $6, $7, 0)"
        " ON CONFLICT (organisation_id) DO NOTHING RETURNING true",
        contract_end_id,
        organisation_id,
        ended_on,
        json.dumps([claim.model_dump(mode="json") for claim in retention]),
        recorded_at,
        offer_until,
        ContractEndState.EXPORT_OFFERED.value,
    )
    if inserted:
        await _wake_the_scheduler(conn)
    return bool(inserted)


async def _wake_the_scheduler(conn: asyncpg.Connection) -> None:
    """The retention scheduler's next pass starts when this transaction commits."""
    await conn.execute("SELECT pg_notify($1, '')", RETENTION_CHANNEL)


async def find_contract_end(
    conn: asyncpg.Connection, organisation_id: UUID, *, for_update: bool = False
) -> ContractEndView | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM contract_ends WHERE organisation_id = $1{lock}",  # noqa: S608
        organisation_id,
    )
    return None if row is None else _view(row)


async def list_contract_ends(conn: asyncpg.Connection, *, limit: int) -> list[ContractEndView]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM contract_ends"  # noqa: S608
        " ORDER BY recorded_at DESC, contract_end_id LIMIT $1",
        limit,
    )
    return [_view(row) for row in rows]


async def end_offer(
    conn: asyncpg.Connection, contract_end_id: UUID, *, outcome: OfferOutcome, at: datetime
) -> None:
    """The offer is over (declined): erasure starts."""
    await conn.execute(
        "UPDATE contract_ends SET state = $2, offer_outcome = $3, offer_ended_at = $4"
        " WHERE contract_end_id = $1",
        contract_end_id,
        ContractEndState.ERASING.value,
        outcome.value,
        at,
    )
    await _wake_the_scheduler(conn)


async def expire_offers(conn: asyncpg.Connection, now: datetime) -> int:
    """Every offer whose time ran out is over: their erasures start; how many."""
    status: str = await conn.execute(
        "UPDATE contract_ends SET state = $2, offer_outcome = $3, offer_ended_at = offer_until"
        " WHERE state = $4 AND offer_until <= $1",
        now,
        ContractEndState.ERASING.value,
        OfferOutcome.EXPIRED.value,
        ContractEndState.EXPORT_OFFERED.value,
    )
    return int(status.split()[-1])


async def take_erasing(conn: asyncpg.Connection) -> Progress | None:
    """One contract end whose erasures are being filed, that no other process works on: its
    advisory lock is held until the caller's transaction ends. The row itself stays
    unlocked, so the batches' own transactions can count their filings on it."""
    candidates = await conn.fetch(
        "SELECT contract_end_id FROM contract_ends"
        " WHERE state = $1 ORDER BY offer_ended_at, contract_end_id LIMIT $2",
        ContractEndState.ERASING.value,
        _CANDIDATES,
    )
    for candidate in candidates:
        # One at a time: a lock tried in the query's WHERE could be taken for rows it skips.
        if not await conn.fetchval(
            "SELECT pg_try_advisory_xact_lock(hashtextextended('contract-end:' || $1, 0))",
            str(candidate["contract_end_id"]),
        ):
            continue
        # Read again under the lock: another process may have moved it on meanwhile.
        row = await conn.fetchrow(
            "SELECT contract_end_id, organisation_id, cursor FROM contract_ends"
            " WHERE contract_end_id = $1 AND state = $2",
            candidate["contract_end_id"],
            ContractEndState.ERASING.value,
        )
        if row is not None:
            return Progress(
                contract_end_id=row["contract_end_id"],
                organisation_id=row["organisation_id"],
                cursor=row["cursor"],
            )
    return None


async def count_filed(conn: asyncpg.Connection, contract_end_id: UUID, filed: int) -> None:
    """Add a batch's filings to the count (in the batch's transaction)."""
    await conn.execute(
        "UPDATE contract_ends SET filed = filed + $2 WHERE contract_end_id = $1",
        contract_end_id,
        filed,
    )


async def advance(conn: asyncpg.Connection, contract_end_id: UUID, *, cursor: str) -> None:
    """Move past the subjects every one of which now has its erasure filed."""
    await conn.execute(
        "UPDATE contract_ends SET cursor = $2 WHERE contract_end_id = $1", contract_end_id, cursor
    )


async def finish(conn: asyncpg.Connection, contract_end_id: UUID, at: datetime) -> None:
    """Every known subject has its erasure: done; the cursor (a subject ref) is dropped."""
    await conn.execute(
        "UPDATE contract_ends SET state = $2, cursor = NULL, erased_at = $3"
        " WHERE contract_end_id = $1",
        contract_end_id,
        ContractEndState.ERASURE_FILED.value,
        at,
    )


async def take_offers_to_remind(
    conn: asyncpg.Connection, *, now: datetime, ahead: timedelta
) -> list[OfferToRemind]:
    """The open offers ending within ``ahead`` of ``now`` whose contact persons were not
    reminded, marked reminded in the caller's transaction (concurrent passes: each row once).
    An offer shorter than ``ahead`` is left out: the mail that opened it said as much."""
    rows = await conn.fetch(
        "UPDATE contract_ends SET offer_reminded_at = $1"
        " WHERE state = $2 AND offer_reminded_at IS NULL AND offer_until > $1"
        " AND offer_until - $3::interval <= $1 AND offer_until - $3::interval > recorded_at"
        " RETURNING organisation_id, ended_on, offer_until",
        now,
        ContractEndState.EXPORT_OFFERED.value,
        ahead,
    )
    return [OfferToRemind(**dict(row)) for row in rows]
