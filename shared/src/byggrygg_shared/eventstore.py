"""The event store: each service's source of truth, which is also its transactional outbox.

One table per service database (DESIGN §2)::

    events(global_position bigserial, stream_id, version, event_type, event_version,
           payload jsonb, metadata jsonb, recorded_at, published_at, unique(stream_id, version))

Guarantees:

- **Optimistic concurrency.** ``append`` takes the version the caller decided on. If the stream
  has moved on, or a concurrent transaction appends the same version first (the unique
  ``(stream_id, version)`` index makes the second writer wait for the first), the append raises
  ``ConcurrentAppend`` and leaves nothing behind. Nothing is ever overwritten.
- **One transaction.** ``append`` must run inside the caller's transaction (the unit of work),
  so the events, the projection rows and the inbox row commit together. It issues
  ``pg_notify`` in that same transaction; PostgreSQL delivers it only on commit, which wakes the
  outbox relay (``outbox.py``) without polling. After ``ConcurrentAppend`` the caller's
  transaction is still usable (the caller may retry or roll back).
- **Outbox.** A row with ``published_at IS NULL`` is not yet on Kafka. The relay publishes such
  rows in ``global_position`` order and then sets ``published_at``. There is no separate outbox
  table to keep in step.
- **Per-stream order.** Within a stream, versions are dense (1, 2, 3, ...) and their
  ``global_position`` grows with the version, because a second writer of the same stream waits
  on the first one's unique-index entry. Positions of different streams may commit out of
  order; the relay therefore scans for unpublished rows rather than trusting a checkpoint.

Why one statement: an append is on every command's hot path, and each round trip to
PostgreSQL costs about as much as the insert itself. So the version check, the insert and the
notification are one statement (``_APPEND_ONE_SQL``/``_APPEND_MANY_SQL``), one round trip:

- the insert's ``SELECT`` yields rows only if the stream's version is ``expected_version``
  (this refuses gaps and stale versions); ``expected_version=None`` appends at the stream's
  end, whatever its version, for writers that need no check (a reply stream, an outbox
  stream the caller's lock already serialises): one round trip instead of a version read
  and the append, and a lost race is tried again after the winner's rows;
- ``ON CONFLICT (stream_id, version) DO NOTHING`` turns a lost race into *missing rows* instead
  of a unique violation, so no exception aborts the caller's transaction and no savepoint is
  needed;
- ``pg_notify`` sits in an uncorrelated scalar subquery of ``RETURNING``, which PostgreSQL
  evaluates once, when the first inserted row is returned: no rows, no notification.

Fewer rows back than events sent means another writer won, for all of them or (a multi-event
append racing a shorter one) only some. The rare losing path deletes the rows it did insert,
so nothing partial survives, reads the stream's committed version and raises
``ConcurrentAppend``; a notification it may already have queued only wakes the relay for
nothing. This relies on READ COMMITTED, the unit of work's isolation level: under REPEATABLE
READ PostgreSQL reports a lost race as a serialization failure, which aborts the transaction.

Payloads are stored as given: personal fields are already key-ring tokens (DESIGN §4).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Final

import asyncpg
import sqlalchemy as sa
from prometheus_client.metrics import Counter as PromCounter
from pydantic_core import to_json
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


# How often an append at the stream's end tries again after losing a race to another writer.
_AT_END_ATTEMPTS: Final = 5


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


@dataclass(frozen=True, eq=False)  # one instance per class (cached): identity is equality
class _ContractFacts:
    """A contract class's routing facts, computed once: they are class constants."""

    event_type: str
    event_version: int
    source_service: str
    topic: str  # the topic, or the template of a per-recipient contract (``routed``)
    routed: bool
    dataschema: str
    appended: PromCounter  # the labelled child of ``events_appended_total``


@cache
def _facts(contract: type[IntegrationEvent]) -> _ContractFacts:
    return _ContractFacts(
        event_type=contract.event_type,
        event_version=contract.event_version,
        source_service=contract.source_service,
        topic=contract.topic,
        routed=contract.route_field is not None,
        dataschema=contract.dataschema(),
        appended=events_appended_total.labels(contract.source_service, contract.event_type),
    )


def metadata_document(event: IntegrationEvent, metadata: EventMetadata) -> dict[str, Any]:
    """The ``metadata`` jsonb of an event row: envelope facts plus routing facts."""
    return _metadata_document(event, metadata, _facts(type(event)))


def _metadata_document(
    event: IntegrationEvent, metadata: EventMetadata, facts: _ContractFacts
) -> dict[str, Any]:
    return {
        "event_id": str(metadata.event_id),
        "occurred_at": metadata.occurred_at.isoformat(),
        "correlation_id": metadata.correlation_id,
        "causation_id": metadata.causation_id,
        "tenant_id": metadata.tenant_id,
        "subject_ref": metadata.subject_ref or event.event_subject(),
        "source_service": facts.source_service,
        "topic": event.routing_topic() if facts.routed else facts.topic,
        "dataschema": facts.dataschema,
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


# The whole append in one round trip (see the module docstring): versions are expected + 1,
# 2, ... in the order given, and ORDER BY keeps global_position growing with the version.
# JSON travels as text (``::text`` stops a connection's json codec from re-encoding it).
_APPEND_MANY_SQL: Final = """
INSERT INTO {table} (stream_id, version, event_type, event_version, payload, metadata)
SELECT $1, cur.v + e.n, e.t, e.tv, e.p::jsonb, e.m::jsonb
FROM (SELECT coalesce(max(version), 0) AS v FROM {table} WHERE stream_id = $1) AS cur,
     unnest($3::text[], $4::int[], $5::text[], $6::text[]) WITH ORDINALITY AS e(t, tv, p, m, n)
WHERE $2::int IS NULL OR cur.v = $2
ORDER BY e.n
ON CONFLICT (stream_id, version) DO NOTHING
RETURNING global_position, version, recorded_at, (SELECT pg_notify($7, $1)) IS NULL AS notified
"""
# The same for the common single event, without the arrays (measurably cheaper to run).
_APPEND_ONE_SQL: Final = """
INSERT INTO {table} (stream_id, version, event_type, event_version, payload, metadata)
SELECT $1, cur.v + 1, $3, $4, $5::text::jsonb, $6::text::jsonb
FROM (SELECT coalesce(max(version), 0) AS v FROM {table} WHERE stream_id = $1) AS cur
WHERE $2::int IS NULL OR cur.v = $2
ON CONFLICT (stream_id, version) DO NOTHING
RETURNING global_position, version, recorded_at, (SELECT pg_notify($7, $1)) IS NULL AS notified
"""


class EventStore:
    """Append to and read streams of the ``events`` table over asyncpg connections.

    Queries pass jsonb as text and cast in SQL, so they work whatever codecs the connection has.
    """

    def __init__(self, *, table: str = EVENTS_TABLE, notify_channel: str = OUTBOX_CHANNEL):
        self._table = table
        self._channel = notify_channel
        self._append_many_sql = _APPEND_MANY_SQL.format(table=table)
        self._append_one_sql = _APPEND_ONE_SQL.format(table=table)

    async def append(
        self,
        conn: asyncpg.Connection,
        *,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[IntegrationEvent],
        metadata: EventMetadata | Sequence[EventMetadata],
    ) -> list[StoredEvent]:
        """Append ``events`` to ``stream_id`` if it is at ``expected_version`` (0 = new stream;
        None = at its end, whatever its version).

        ``metadata`` is one ``EventMetadata`` per event, or a single one shared by all (each
        event then gets its own id, see ``EventMetadata.for_index``). Runs in the caller's
        transaction and notifies the relay on commit. Raises ``ConcurrentAppend``, after which
        nothing of this append is in the database and the transaction is still usable.
        """
        if not conn.is_in_transaction():
            raise AppendOutsideTransaction("append must run inside the unit of work's transaction")
        if expected_version is not None and expected_version < 0:
            raise ValueError("expected_version must be >= 0")
        if not events:
            return []
        metas = _metadata_per_event(events, metadata)
        facts = [_facts(type(event)) for event in events]
        # The dicts are serialised for the insert and handed back as they are, not re-parsed.
        payloads = [event.model_dump(mode="json") for event in events]
        documents = [
            _metadata_document(event, meta, fact)
            for event, meta, fact in zip(events, metas, facts, strict=True)
        ]

        texts = [to_json(payload).decode() for payload in payloads]
        document_texts = [to_json(document).decode() for document in documents]
        for _ in range(_AT_END_ATTEMPTS):
            if len(events) == 1:
                rows = await conn.fetch(
                    self._append_one_sql,
                    stream_id,
                    expected_version,
                    facts[0].event_type,
                    facts[0].event_version,
                    texts[0],
                    document_texts[0],
                    self._channel,
                )
            else:
                rows = await conn.fetch(
                    self._append_many_sql,
                    stream_id,
                    expected_version,
                    [fact.event_type for fact in facts],
                    [fact.event_version for fact in facts],
                    texts,
                    document_texts,
                    self._channel,
                )
            if len(rows) == len(events):
                break
            actual = await self._undo_lost_race(conn, stream_id, rows)
            if expected_version is not None:
                raise ConcurrentAppend(stream_id, expected_version, actual)
            # At the end, whatever the version: the winner's rows are committed now, and the
            # next statement sees them; try again after them.
        else:
            raise ConcurrentAppend(stream_id, actual, actual)

        # Counted when written, once per contract in the append (not per event); a later
        # rollback is not subtracted.
        counts: dict[_ContractFacts, int] = {}
        for fact in facts:
            counts[fact] = counts.get(fact, 0) + 1
        for fact, count in counts.items():
            fact.appended.inc(count)

        # The rows in version order are the events in order (versions follow e.n).
        in_order = sorted(rows, key=lambda row: int(row["version"]))
        return [
            StoredEvent(
                global_position=row["global_position"],
                stream_id=stream_id,
                version=row["version"],
                event_type=fact.event_type,
                event_version=fact.event_version,
                payload=payload,
                metadata=document,
                recorded_at=row["recorded_at"],
                published_at=None,
            )
            for row, fact, payload, document in zip(
                in_order, facts, payloads, documents, strict=True
            )
        ]

    async def _undo_lost_race(
        self, conn: asyncpg.Connection, stream_id: str, inserted: list[asyncpg.Record]
    ) -> int:
        """Delete this append's rows (if another writer took some of its versions).

        Returns the stream's committed version for ``ConcurrentAppend``. It is read by a new
        statement: the append's snapshot predates the winner's commit.
        """
        if inserted:
            await conn.execute(
                f"DELETE FROM {self._table} WHERE global_position = ANY($1::bigint[])",  # noqa: S608
                [row["global_position"] for row in inserted],
            )
        return await self.stream_version(conn, stream_id)

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

    async def publish_again(
        self, conn: asyncpg.Connection, *, stream_id: str, caused_by: str
    ) -> int:
        """Queue the events of ``stream_id`` that ``caused_by`` (a CloudEvent id) caused for the
        relay once more, unchanged (same ids, so consumers' inboxes see a redelivery); the
        number queued. For answers whose first delivery may have been lost downstream (a
        participant's reply to a command sent again). Events not yet published are counted
        but already queued. The relay is woken on commit."""
        if not conn.is_in_transaction():
            raise AppendOutsideTransaction("publish_again must run inside a transaction")
        queued = await conn.fetchval(
            f"WITH again AS (UPDATE {self._table} SET published_at = NULL "  # noqa: S608
            "WHERE stream_id = $1 AND metadata->>'causation_id' = $2 RETURNING 1) "
            "SELECT count(*) FROM again",
            stream_id,
            caused_by,
        )
        if queued:
            await conn.execute("SELECT pg_notify($1, $2)", self._channel, stream_id)
        return int(queued)

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
