"""The inbox: makes a consumer's effects idempotent under at-least-once delivery (DESIGN §2).

Kafka and the outbox relay may deliver an event more than once (a relay killed between the
broker's ack and its mark, a consumer killed between its commit and the offset commit). A
consumer therefore records ``(consumer, event_id)`` with ``claim`` **in the same transaction as
the effect**:

    async with transaction(pool) as conn:
        if not await claim(conn, consumer="courses.user-projection", event_id=event.id):
            return                      # already applied: a redelivery changes nothing
        await apply_effect(conn, event)

If the effect's transaction rolls back, the claim rolls back with it and the redelivery is
applied. Two deliveries processed concurrently serialise on the primary key: the second waits
for the first transaction and then sees the claim taken. ``event_id`` is the CloudEvents ``id``,
identical in every copy of a published event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import asyncpg
import sqlalchemy as sa

__all__ = [
    "INBOX_TABLE",
    "ClaimOutsideTransaction",
    "already_claimed",
    "claim",
    "claim_many",
    "inbox_table",
]

INBOX_TABLE: Final = "inbox"


class ClaimOutsideTransaction(RuntimeError):
    """``claim`` was called without an open transaction, so it could not be atomic with the
    effect it guards."""


def inbox_table(metadata: sa.MetaData) -> sa.Table:
    """The ``inbox`` table in ``metadata``; idempotent for the same metadata."""
    if INBOX_TABLE in metadata.tables:
        return metadata.tables[INBOX_TABLE]
    return sa.Table(
        INBOX_TABLE,
        metadata,
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        comment="Events each consumer has applied (idempotent consumption)",
    )


async def claim(
    conn: asyncpg.Connection, *, consumer: str, event_id: str, table: str = INBOX_TABLE
) -> bool:
    """Record that ``consumer`` applies ``event_id`` now; False if it was already applied.

    Must run inside the transaction of the effect it guards.
    """
    if not conn.is_in_transaction():
        raise ClaimOutsideTransaction("claim must run inside the effect's transaction")
    inserted = await conn.fetchval(
        f"INSERT INTO {table} (consumer, event_id) VALUES ($1, $2) "  # noqa: S608 - constant
        "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING true",
        consumer,
        event_id,
    )
    return bool(inserted)


async def claim_many(
    conn: asyncpg.Connection,
    *,
    consumer: str,
    event_ids: Sequence[str],
    table: str = INBOX_TABLE,
) -> set[str]:
    """``claim`` for a batch's events in one statement: the ids claimed now (the others were
    applied before). Must run inside the transaction of the effects it guards."""
    if not conn.is_in_transaction():
        raise ClaimOutsideTransaction("claim must run inside the effect's transaction")
    rows = await conn.fetch(
        f"INSERT INTO {table} (consumer, event_id) "  # noqa: S608 - constant
        "SELECT $1, e FROM unnest($2::text[]) AS e "
        "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id",
        consumer,
        list(event_ids),
    )
    return {row["event_id"] for row in rows}


async def already_claimed(
    conn: asyncpg.Connection, *, consumer: str, event_id: str, table: str = INBOX_TABLE
) -> bool:
    """Whether ``consumer`` applied ``event_id`` already: for a consumer whose effect spans
    several transactions (each idempotent on its own) and claims after the last, to skip the
    whole redo for an event that is done."""
    found = await conn.fetchval(
        f"SELECT true FROM {table} WHERE consumer = $1 AND event_id = $2",  # noqa: S608 - constant
        consumer,
        event_id,
    )
    return bool(found)
