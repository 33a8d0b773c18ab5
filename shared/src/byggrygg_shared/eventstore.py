"""The event store: each service's source of truth, which is also its transactional outbox.

One table per service database (DESIGN §2)::

    events(global_position bigserial, stream_id, version, event_type, event_version,
           payload jsonb, metadata jsonb, recorded_at, published_at, unique(stream_id, version))

Guarantees:

- **Optimistic concurrency.** ``append`` takes the version the caller decided on. If the stream
  has moved on, or a concurrent transaction appends the same version first (the unique
  ``(stream_id, version)`` index makes the second writer wait for the first and then fail), the
  append raises ``ConcurrentAppend`` and writes nothing. Nothing is ever overwritten.
- **One transaction.** ``append`` must run inside the caller's transaction (the unit of work),
  so the events, the projection rows and the inbox row commit together. It issues
  ``pg_notify`` in that same transaction; PostgreSQL delivers it only on commit, which wakes the
  outbox relay (``outbox.py``) without polling.
- **Outbox.** A row with ``published_at IS NULL`` is not yet on Kafka. The relay publishes such
  rows in ``global_position`` order and then sets ``published_at``. There is no separate outbox
  table to keep in step.
- **Per-stream order.** Within a stream, versions are dense (1, 2, 3, ...) and their
  ``global_position`` grows with the version, because a second writer of the same stream waits
  on the first one's unique-index entry. Positions of different streams may commit out of
  order; the relay therefore scans for unpublished rows rather than trusting a checkpoint.

Payloads are stored as given: personal fields are already key-ring tokens (DESIGN §4).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from byggrygg_shared.contracts import registry
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.envelope import EventMetadata
from byggrygg_shared.metrics import events_appended_total

__all__ = [
    "EVENTS_TABLE",
    "EVENT_COLUMNS",
    "OUTBOX_CHANNEL",
    "AppendOutsideTransaction",
    "ConcurrentAppend",
    "EventStore",
    "NewEvent",
    "StoredEvent",
    "events_table",
    "metadata_document",
    "row_to_stored",
]

EVENTS_TABLE: Final = "events"
# NOTIFY channel the relay LISTENs on; channels are per database, so one name serves all.
OUTBOX_CHANNEL: Final = "byggrygg_outbox"


def events_table(metadata: sa.MetaData) -> sa.Table:
    """The ``events`` table (DESIGN §2) in ``metadata``; idempotent for the same metadata.

    ``payload`` holds no plaintext personal data: personal fields are key-ring ciphertext
    tokens (see each contract's ``personal_fields``).
    """
    if EVENTS_TABLE in metadata.tables:
        return metadata.tables[EVENTS_TABLE]
    table = sa.Table(
        EVENTS_TABLE,
        metadata,
        sa.Column("global_position", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("stream_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("event_version", sa.Integer, nullable=False),
        sa.Column("payload", postgresql.JSONB, nullable=False),
        sa.Column("metadata", postgresql.JSONB, nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("stream_id", "version", name="events_stream_version_key"),
        sa.CheckConstraint("version >= 1", name="events_version_positive"),
        comment="Event store and transactional outbox (published_at IS NULL = not on Kafka yet)",
    )
    # The relay's only query: the oldest unpublished rows. A partial index stays tiny.
    sa.Index(
        "events_unpublished_idx",
        table.c.global_position,
        postgresql_where=table.c.published_at.is_(None),
    )
    return table


class ConcurrentAppend(Exception):
    """Another writer appended to the stream since the caller read it; nothing was written."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual_version}, expected {expected_version}"
        )
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class AppendOutsideTransaction(RuntimeError):
    """``append`` was called on a connection with no open transaction (no unit of work)."""


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended, with its envelope metadata."""

    stream_id: str
    event: IntegrationEvent
    metadata: EventMetadata


@dataclass(frozen=True)
class StoredEvent:
    """One row of the event store."""

    global_position: int
    stream_id: str
    version: int
    event_type: str
    event_version: int
    payload: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime
    published_at: datetime | None

    @property
    def event_id(self) -> str:
        """The CloudEvents ``id`` of this event."""
        return str(self.metadata["event_id"])

    @property
    def topic(self) -> str:
        """The Kafka topic of this event (its contract's ``topic`` at append time)."""
        return str(self.metadata["topic"])

    @property
    def ce_type(self) -> str:
        """The CloudEvents ``type``: ``<event_type>.v<event_version>``."""
        return f"{self.event_type}.v{self.event_version}"

    def contract(self) -> IntegrationEvent:
        """The typed contract instance, upcast to the current version (never rewritten)."""
        return registry.decode(self.ce_type, self.payload)


def metadata_document(event: IntegrationEvent, metadata: EventMetadata) -> dict[str, Any]:
    """The ``metadata`` jsonb of an event row: envelope facts plus routing facts."""
    return {
        "event_id": str(metadata.event_id),
        "occurred_at": metadata.occurred_at.isoformat(),
        "correlation_id": metadata.correlation_id,
        "causation_id": metadata.causation_id,
        "tenant_id": metadata.tenant_id,
        "subject_ref": metadata.subject_ref or event.event_subject(),
        "source_service": type(event).source_service,
        "topic": type(event).topic,
        "dataschema": type(event).dataschema(),
    }


EVENT_COLUMNS: Final = (
    "global_position, stream_id, version, event_type, event_version, "
    "payload::text AS payload, metadata::text AS metadata, recorded_at, published_at"
)


def row_to_stored(row: asyncpg.Record) -> StoredEvent:
    """A ``StoredEvent`` from a row selected with the event-store columns (jsonb as text)."""
    return StoredEvent(
        global_position=row["global_position"],
        stream_id=row["stream_id"],
        version=row["version"],
        event_type=row["event_type"],
        event_version=row["event_version"],
        payload=json.loads(row["payload"]),
        metadata=json.loads(row["metadata"]),
        recorded_at=row["recorded_at"],
        published_at=row["published_at"],
    )


class EventStore:
    """Append to and read streams of the ``events`` table over asyncpg connections.

    Queries pass jsonb as text and cast in SQL, so they work whatever codecs the connection has.
    """

    def __init__(self, *, table: str = EVENTS_TABLE, notify_channel: str = OUTBOX_CHANNEL):
        self._table = table
        self._channel = notify_channel

    async def append(
        self,
        conn: asyncpg.Connection,
        *,
        stream_id: str,
        expected_version: int,
        events: Sequence[IntegrationEvent],
        metadata: EventMetadata | Sequence[EventMetadata],
    ) -> list[StoredEvent]:
        """Append ``events`` to ``stream_id`` if it is at ``expected_version`` (0 = new stream).

        ``metadata`` is one ``EventMetadata`` per event, or a single one shared by all (each
        event then gets its own id, see ``EventMetadata.for_index``). Runs in the caller's
        transaction and notifies the relay on commit. Raises ``ConcurrentAppend``.
        """
        if not conn.is_in_transaction():
            raise AppendOutsideTransaction("append must run inside the unit of work's transaction")
        if expected_version < 0:
            raise ValueError("expected_version must be >= 0")
        if not events:
            return []
        metas = _metadata_per_event(events, metadata)

        actual = await self.stream_version(conn, stream_id)
        if actual != expected_version:
            raise ConcurrentAppend(stream_id, expected_version, actual)

        versions = [expected_version + i + 1 for i in range(len(events))]
        payloads = [event.model_dump_json() for event in events]
        documents = [
            json.dumps(metadata_document(event, meta))
            for event, meta in zip(events, metas, strict=True)
        ]
        try:
            # A savepoint, so a lost race leaves the caller's transaction usable.
            async with conn.transaction():
                rows = await conn.fetch(
                    f"""
                    INSERT INTO {self._table}
                        (stream_id, version, event_type, event_version, payload, metadata)
                    SELECT $1, v, t, tv, p::jsonb, m::jsonb
                    FROM unnest($2::int[], $3::text[], $4::int[], $5::text[], $6::text[])
                        WITH ORDINALITY AS e(v, t, tv, p, m, n)
                    ORDER BY n
                    RETURNING global_position, version, recorded_at
                    """,  # noqa: S608 - the table name is a constructor constant, not input
                    stream_id,
                    versions,
                    [type(event).event_type for event in events],
                    [type(event).event_version for event in events],
                    payloads,
                    documents,
                )
        except asyncpg.UniqueViolationError:
            raise ConcurrentAppend(
                stream_id, expected_version, await self.stream_version(conn, stream_id)
            ) from None
        await conn.execute("SELECT pg_notify($1, $2)", self._channel, stream_id)
        for event in events:
            # Counted when written; a caller's later rollback is not subtracted.
            events_appended_total.labels(type(event).source_service, type(event).event_type).inc()

        by_version = {row["version"]: row for row in rows}
        return [
            StoredEvent(
                global_position=by_version[version]["global_position"],
                stream_id=stream_id,
                version=version,
                event_type=type(event).event_type,
                event_version=type(event).event_version,
                payload=json.loads(payload),
                metadata=json.loads(document),
                recorded_at=by_version[version]["recorded_at"],
                published_at=None,
            )
            for version, event, payload, document in zip(
                versions, events, payloads, documents, strict=True
            )
        ]

    async def load(
        self, conn: asyncpg.Connection, stream_id: str, *, after_version: int = 0
    ) -> list[StoredEvent]:
        """The events of ``stream_id`` in version order (those after ``after_version``)."""
        rows = await conn.fetch(
            f"SELECT {EVENT_COLUMNS} FROM {self._table} "  # noqa: S608 - constant names only
            "WHERE stream_id = $1 AND version > $2 ORDER BY version",
            stream_id,
            after_version,
        )
        return [row_to_stored(row) for row in rows]

    async def stream_version(self, conn: asyncpg.Connection, stream_id: str) -> int:
        """The stream's current version; 0 if it has no events."""
        version = await conn.fetchval(
            f"SELECT coalesce(max(version), 0) FROM {self._table} "  # noqa: S608
            "WHERE stream_id = $1",
            stream_id,
        )
        return int(version)


def _metadata_per_event(
    events: Sequence[IntegrationEvent], metadata: EventMetadata | Sequence[EventMetadata]
) -> list[EventMetadata]:
    if isinstance(metadata, EventMetadata):
        return [metadata.for_index(i) for i in range(len(events))]
    metas = list(metadata)
    if len(metas) != len(events):
        raise ValueError("give one EventMetadata per event, or a single shared one")
    if len({meta.event_id for meta in metas}) != len(metas):
        raise ValueError("every event of an append needs its own event_id")
    return metas
