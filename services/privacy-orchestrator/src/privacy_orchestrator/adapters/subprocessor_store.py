"""The sub-processor tables (R12, R13) through asyncpg: the register, the delivery outbox and
its attempts, and the confirmations. Every method runs on the caller's connection, so it joins
the caller's transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from byggrygg_shared.inventory import DataCategory
from privacy_orchestrator.domain.subprocessors import (
    Confirmation,
    DeliveryState,
    PrivacyAction,
    SubProcessor,
)

_SP_COLUMNS = (
    "id, name, organisation_number, data_categories, agreement_reference, agreement_date,"
    " endpoint_url, signing_secret_file, callback_secret_file, version, created_at, updated_at"
)
_DELIVERY_COLUMNS = (
    "d.id, d.subprocessor_id, s.name AS subprocessor_name, d.request_id, d.action,"
    " d.subject_ref, d.changes, d.callback_url, d.webhook_id, d.state, d.attempts,"
    " d.next_attempt_at, d.deadline, d.last_status, d.last_error, d.escalation_reason,"
    " d.created_at, d.delivered_at, d.confirmed_at, d.escalated_at"
)


def _subprocessor(row: asyncpg.Record) -> SubProcessor:
    return SubProcessor(
        id=row["id"],
        name=row["name"],
        organisation_number=row["organisation_number"],
        data_categories=tuple(DataCategory(c) for c in row["data_categories"]),
        agreement_reference=row["agreement_reference"],
        agreement_date=row["agreement_date"],
        endpoint_url=row["endpoint_url"],
        signing_secret_file=Path(row["signing_secret_file"]),
        callback_secret_file=Path(row["callback_secret_file"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _json(value: Any) -> Any:
    # The pool's codec decodes JSONB (byggrygg_shared.db); a bare connection hands over text.
    return json.loads(value) if isinstance(value, str) else value


class SubProcessorStore:
    """Reads and writes the sub-processor tables."""

    # --- the register ------------------------------------------------------------------
    async def all(self, conn: asyncpg.Connection) -> list[SubProcessor]:
        rows = await conn.fetch(f"SELECT {_SP_COLUMNS} FROM subprocessors ORDER BY name, id")  # noqa: S608
        return [_subprocessor(row) for row in rows]

    async def get(self, conn: asyncpg.Connection, subprocessor_id: UUID) -> SubProcessor | None:
        row = await conn.fetchrow(
            f"SELECT {_SP_COLUMNS} FROM subprocessors WHERE id = $1",  # noqa: S608
            subprocessor_id,
        )
        return None if row is None else _subprocessor(row)

    async def insert(self, conn: asyncpg.Connection, entry: SubProcessor) -> bool:
        """Add ``entry``; False when its organisation number is already registered."""
        inserted = await conn.fetchval(
            f"INSERT INTO subprocessors ({_SP_COLUMNS}) VALUES"  # noqa: S608 - constant
            "  ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            " ON CONFLICT (organisation_number) DO NOTHING RETURNING true",
            entry.id,
            entry.name,
            entry.organisation_number,
            [str(c) for c in entry.data_categories],
            entry.agreement_reference,
            entry.agreement_date,
            entry.endpoint_url,
            str(entry.signing_secret_file),
            str(entry.callback_secret_file),
            entry.version,
            entry.created_at,
            entry.updated_at,
        )
        return bool(inserted)

    async def update(self, conn: asyncpg.Connection, entry: SubProcessor, *, expected: int) -> bool:
        """Replace the entry if it is still at version ``expected``; False otherwise."""
        status: str = await conn.execute(
            "UPDATE subprocessors SET name = $2, organisation_number = $3, data_categories = $4,"
            " agreement_reference = $5, agreement_date = $6, endpoint_url = $7,"
            " signing_secret_file = $8, callback_secret_file = $9, version = $10,"
            " updated_at = $11 WHERE id = $1 AND version = $12",
            entry.id,
            entry.name,
            entry.organisation_number,
            [str(c) for c in entry.data_categories],
            entry.agreement_reference,
            entry.agreement_date,
            entry.endpoint_url,
            str(entry.signing_secret_file),
            str(entry.callback_secret_file),
            entry.version,
            entry.updated_at,
            expected,
        )
        return status.endswith(" 1")

    async def organisation_number_taken(
        self, conn: asyncpg.Connection, number: str, *, other_than: UUID
    ) -> bool:
        return bool(
            await conn.fetchval(
                "SELECT true FROM subprocessors WHERE organisation_number = $1 AND id <> $2",
                number,
                other_than,
            )
        )

    # --- deliveries (the outbox) -----------------------------------------------------------
    async def add_delivery(
        self,
        conn: asyncpg.Connection,
        *,
        notify_channel: str,
        delivery_id: UUID,
        subprocessor_id: UUID,
        request_id: UUID,
        action: PrivacyAction,
        subject_ref: str,
        changes: dict[str, Any] | None,
        callback_url: str,
        webhook_id: str,
        now: datetime,
        deadline: datetime,
    ) -> UUID | None:
        """Write a pending delivery and notify ``notify_channel`` (PostgreSQL delivers it at
        commit); the existing one's id when this request was already sent; None when the
        sub-processor is not registered."""
        inserted = await conn.fetchval(
            "WITH notified AS (SELECT pg_notify($11, ''))"
            " INSERT INTO subprocessor_deliveries (id, subprocessor_id, request_id, action,"
            " subject_ref, changes, callback_url, webhook_id, state, attempts, next_attempt_at,"
            " deadline, created_at) SELECT $1, s.id, $3, $4, $5, $6::jsonb, $7, $8, 'pending', 0,"
            " $9, $10, $9 FROM subprocessors s, notified WHERE s.id = $2"
            " ON CONFLICT (subprocessor_id, request_id, action) DO NOTHING"
            " RETURNING id",
            delivery_id,
            subprocessor_id,
            request_id,
            str(action),
            subject_ref,
            changes,
            callback_url,
            webhook_id,
            now,
            deadline,
            notify_channel,
        )
        if inserted is not None:
            return UUID(str(inserted))
        existing = await conn.fetchval(
            "SELECT id FROM subprocessor_deliveries"
            " WHERE subprocessor_id = $1 AND request_id = $2 AND action = $3",
            subprocessor_id,
            request_id,
            str(action),
        )
        return None if existing is None else UUID(str(existing))

    async def due_delivery(self, conn: asyncpg.Connection, now: datetime) -> asyncpg.Record | None:
        """The next pending delivery due by ``now``, locked for this transaction (others skip
        it)."""
        return await conn.fetchrow(
            f"SELECT {_DELIVERY_COLUMNS}, s.endpoint_url, s.signing_secret_file"  # noqa: S608
            " FROM subprocessor_deliveries d JOIN subprocessors s ON s.id = d.subprocessor_id"
            " WHERE d.state = 'pending' AND d.next_attempt_at <= $1"
            " ORDER BY d.next_attempt_at FOR UPDATE OF d SKIP LOCKED LIMIT 1",
            now,
        )

    async def record_attempt(
        self,
        conn: asyncpg.Connection,
        *,
        delivery_id: UUID,
        attempt: int,
        at: datetime,
        status: int | None,
        error: str | None,
        outcome: str,
    ) -> None:
        await conn.execute(
            "INSERT INTO subprocessor_delivery_attempts"
            " (delivery_id, attempt, attempted_at, status, error, outcome)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            delivery_id,
            attempt,
            at,
            status,
            error,
            outcome,
        )

    async def set_delivery_state(
        self,
        conn: asyncpg.Connection,
        delivery_id: UUID,
        *,
        state: DeliveryState,
        attempts: int,
        next_attempt_at: datetime,
        last_status: int | None,
        last_error: str | None,
        at: datetime,
        escalation_reason: str | None = None,
    ) -> None:
        await conn.execute(
            "UPDATE subprocessor_deliveries SET state = $2, attempts = $3, next_attempt_at = $4,"
            " last_status = $5, last_error = $6,"
            # Accepted: the corrections have reached the sub-processor; keep no copy (R15).
            " changes = CASE WHEN $2 = 'delivered' THEN NULL ELSE changes END,"
            # The first acceptance: the confirmation deadline runs from it, resends or not.
            " delivered_at = CASE WHEN $2 = 'delivered' THEN coalesce(delivered_at, $7)"
            " ELSE delivered_at END,"
            " escalated_at = CASE WHEN $2 = 'escalated' THEN $7 ELSE escalated_at END,"
            " escalation_reason = coalesce($8, escalation_reason) WHERE id = $1",
            delivery_id,
            str(state),
            attempts,
            next_attempt_at,
            last_status,
            last_error,
            at,
            escalation_reason,
        )

    async def escalate_unconfirmed(
        self, conn: asyncpg.Connection, *, accepted_before: datetime, now: datetime
    ) -> list[str]:
        """Escalate deliveries accepted before ``accepted_before`` and still unconfirmed; the
        sub-processor name of each."""
        rows = await conn.fetch(
            "UPDATE subprocessor_deliveries d SET state = 'escalated', escalated_at = $2,"
            " escalation_reason = 'no_confirmation' FROM subprocessors s"
            " WHERE s.id = d.subprocessor_id AND d.state = 'delivered' AND d.delivered_at < $1"
            " RETURNING s.name",
            accepted_before,
            now,
        )
        return [row["name"] for row in rows]

    async def unconfirmed_to_resend(
        self, conn: asyncpg.Connection, *, last_attempt_before: datetime
    ) -> list[UUID]:
        """Accepted deliveries still unconfirmed whose last attempt is older than
        ``last_attempt_before``, locked for this transaction (others skip them)."""
        rows = await conn.fetch(
            "SELECT d.id FROM subprocessor_deliveries d WHERE d.state = 'delivered'"
            " AND (SELECT max(a.attempted_at) FROM subprocessor_delivery_attempts a"
            "      WHERE a.delivery_id = d.id) < $1"
            " ORDER BY d.delivered_at FOR UPDATE OF d SKIP LOCKED",
            last_attempt_before,
        )
        return [UUID(str(row["id"])) for row in rows]

    async def requeue(
        self,
        conn: asyncpg.Connection,
        delivery_id: UUID,
        *,
        webhook_id: str,
        now: datetime,
        deadline: datetime,
    ) -> None:
        """Send an accepted, unconfirmed delivery again as a new message (a new webhook-id)."""
        await conn.execute(
            "UPDATE subprocessor_deliveries SET state = 'pending', webhook_id = $2,"
            " next_attempt_at = $3, deadline = $4 WHERE id = $1 AND state = 'delivered'",
            delivery_id,
            webhook_id,
            now,
            deadline,
        )

    async def count_by_state(self, conn: asyncpg.Connection) -> dict[str, int]:
        rows = await conn.fetch(
            "SELECT state, count(*) AS n FROM subprocessor_deliveries GROUP BY state"
        )
        return {row["state"]: row["n"] for row in rows}

    async def deliveries(
        self,
        conn: asyncpg.Connection,
        *,
        request_id: UUID | None = None,
        state: DeliveryState | None = None,
        delivery_id: UUID | None = None,
        limit: int = 100,
    ) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await conn.fetch(
            f"SELECT {_DELIVERY_COLUMNS} FROM subprocessor_deliveries d"  # noqa: S608
            " JOIN subprocessors s ON s.id = d.subprocessor_id"
            " WHERE ($1::uuid IS NULL OR d.request_id = $1)"
            " AND ($2::text IS NULL OR d.state = $2)"
            " AND ($3::uuid IS NULL OR d.id = $3)"
            " ORDER BY d.created_at, d.id LIMIT $4",
            request_id,
            None if state is None else str(state),
            delivery_id,
            limit,
        )
        return rows

    async def attempts(self, conn: asyncpg.Connection, delivery_id: UUID) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await conn.fetch(
            "SELECT attempt, attempted_at, status, error, outcome"
            " FROM subprocessor_delivery_attempts WHERE delivery_id = $1 ORDER BY attempt",
            delivery_id,
        )
        return rows

    async def delivery_for(
        self,
        conn: asyncpg.Connection,
        *,
        subprocessor_id: UUID,
        request_id: UUID,
        action: PrivacyAction,
    ) -> asyncpg.Record | None:
        return await conn.fetchrow(
            "SELECT id, state, subject_ref FROM subprocessor_deliveries"
            " WHERE subprocessor_id = $1 AND request_id = $2 AND action = $3 FOR UPDATE",
            subprocessor_id,
            request_id,
            str(action),
        )

    # --- confirmations -------------------------------------------------------------------
    async def add_confirmation(
        self, conn: asyncpg.Connection, confirmation: Confirmation, *, delivery_id: UUID
    ) -> bool:
        """Store a verified callback and mark its delivery confirmed; False if already stored."""
        inserted = await conn.fetchval(
            "INSERT INTO subprocessor_confirmations (subprocessor_id, request_id, action,"
            " webhook_id, outcome, records, fields, completed_at, confirmed_at, export)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)"
            " ON CONFLICT (subprocessor_id, request_id, action) DO NOTHING RETURNING true",
            confirmation.subprocessor_id,
            confirmation.request_id,
            str(confirmation.action),
            confirmation.webhook_id,
            confirmation.outcome,
            confirmation.records,
            confirmation.fields,
            confirmation.completed_at,
            confirmation.confirmed_at,
            confirmation.export,
        )
        await conn.execute(
            "UPDATE subprocessor_deliveries SET state = 'confirmed', confirmed_at = $2"
            " WHERE id = $1 AND state <> 'confirmed'",
            delivery_id,
            confirmation.confirmed_at,
        )
        return bool(inserted)

    async def confirmations_for(
        self, conn: asyncpg.Connection, request_id: UUID
    ) -> list[Confirmation]:
        rows = await conn.fetch(
            "SELECT c.*, s.name, s.organisation_number FROM subprocessor_confirmations c"
            " JOIN subprocessors s ON s.id = c.subprocessor_id"
            " WHERE c.request_id = $1 ORDER BY c.confirmed_at, s.name",
            request_id,
        )
        return [
            Confirmation(
                subprocessor_id=row["subprocessor_id"],
                subprocessor_name=row["name"],
                organisation_number=row["organisation_number"],
                request_id=row["request_id"],
                action=PrivacyAction(row["action"]),
                outcome=row["outcome"],
                records=row["records"],
                fields=row["fields"],
                completed_at=row["completed_at"],
                confirmed_at=row["confirmed_at"],
                webhook_id=row["webhook_id"],
                export=_json(row["export"]),
            )
            for row in rows
        ]
