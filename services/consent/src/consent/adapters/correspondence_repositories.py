"""Event-sourced repositories of correspondence items, deletion requests and complaints.

Load an aggregate from its stream, append what it raised at the version it was loaded at (the
optimistic lock), on the caller's connection inside the command's transaction; return the new
events with their stored rows so the projections are updated in that same transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import asyncpg

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.envelope import EventMetadata
from byggrygg_shared.eventstore import EventStore, StoredEvent
from consent.adapters.correspondence_codec import (
    complaint_stream,
    correspondence_stream,
    decode_complaint_event,
    decode_correspondence_event,
    decode_deletion_event,
    deletion_stream,
    encode_complaint_event,
    encode_correspondence_event,
    encode_deletion_event,
)
from consent.domain.aggregate import Aggregate
from consent.domain.complaints import Complaint, ComplaintEvent
from consent.domain.correspondence import Correspondence, CorrespondenceEvent
from consent.domain.correspondence_deletion import CorrespondenceDeletion, DeletionEvent
from consent.service_layer.context import FieldCipher

E = TypeVar("E")
A = TypeVar("A", bound=Aggregate[Any])


@dataclass(frozen=True)
class Recorded(Generic[E]):
    """A domain event just appended, with its row in the event store (tokens in payload)."""

    event: E
    stored: StoredEvent


class StreamRepository(Generic[A, E]):
    """Aggregates of one kind from their ``<kind>-<id>`` streams."""

    def __init__(
        self,
        *,
        store: EventStore,
        cipher: FieldCipher,
        aggregate: type[A],
        stream_of: Callable[[UUID], str],
        encode: Callable[[E, FieldCipher], Awaitable[IntegrationEvent]],
        decode: Callable[[StoredEvent, FieldCipher], Awaitable[E]],
    ) -> None:
        self._store = store
        self._cipher = cipher
        self._aggregate = aggregate
        self._stream_of = stream_of
        self._encode = encode
        self._decode = decode

    async def get(self, conn: asyncpg.Connection, aggregate_id: UUID) -> A | None:
        """The aggregate rebuilt from its events, or None if the stream is empty."""
        stored = await self._store.load(conn, self._stream_of(aggregate_id))
        if not stored:
            return None
        history = [await self._decode(row, self._cipher) for row in stored]
        aggregate: A = self._aggregate.replay(history)
        return aggregate

    async def save(
        self, conn: asyncpg.Connection, aggregate: A, *, aggregate_id: UUID, metadata: EventMetadata
    ) -> list[Recorded[E]]:
        """Append the pending events; raises ``ConcurrentAppend`` if another writer was first."""
        pending: Sequence[E] = list(aggregate.pending)
        if not pending:
            return []
        encoded = [await self._encode(event, self._cipher) for event in pending]
        stored = await self._store.append(
            conn,
            stream_id=self._stream_of(aggregate_id),
            expected_version=aggregate.loaded_version,
            events=encoded,
            metadata=metadata,
        )
        aggregate.pending.clear()
        return [Recorded(event, row) for event, row in zip(pending, stored, strict=True)]


def correspondence_repository(
    store: EventStore, cipher: FieldCipher
) -> StreamRepository[Correspondence, CorrespondenceEvent]:
    return StreamRepository(
        store=store,
        cipher=cipher,
        aggregate=Correspondence,
        stream_of=correspondence_stream,
        encode=encode_correspondence_event,
        decode=decode_correspondence_event,
    )


def deletion_repository(
    store: EventStore, cipher: FieldCipher
) -> StreamRepository[CorrespondenceDeletion, DeletionEvent]:
    return StreamRepository(
        store=store,
        cipher=cipher,
        aggregate=CorrespondenceDeletion,
        stream_of=deletion_stream,
        encode=encode_deletion_event,
        decode=decode_deletion_event,
    )


def complaint_repository(
    store: EventStore, cipher: FieldCipher
) -> StreamRepository[Complaint, ComplaintEvent]:
    return StreamRepository(
        store=store,
        cipher=cipher,
        aggregate=Complaint,
        stream_of=complaint_stream,
        encode=encode_complaint_event,
        decode=decode_complaint_event,
    )
