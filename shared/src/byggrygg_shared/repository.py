"""The event-sourced repository: load an aggregate from its stream, append what it raised.

It runs on the caller's connection, inside the command's transaction (the unit of work), and
returns the new domain events with their stored rows, so a service updates its projections in
that same transaction (the stored row holds the payload as appended: ciphertext tokens for the
personal fields). Translating domain events to and from contracts stays with each service (its
event codec, which also seals and opens personal fields): this module only drives it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import asyncpg

from byggrygg_shared.aggregate import Aggregate
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.envelope import EventMetadata
from byggrygg_shared.eventstore import EventStore, StoredEvent

__all__ = ["EventSourcedRepository", "Recorded"]

E = TypeVar("E")
A = TypeVar("A", bound=Aggregate[Any])


@dataclass(frozen=True)
class Recorded(Generic[E]):
    """A domain event just appended, with its row in the event store."""

    event: E
    stored: StoredEvent


class EventSourcedRepository(Generic[A, E]):
    """Aggregates of type `A` (events `E`) from the streams `stream_of(id)` names.

    `encode` turns a domain event into the contract that is appended; `decode` turns a stored
    row back into the domain event (both the service's codec, with its key ring bound in).
    """

    def __init__(
        self,
        *,
        store: EventStore,
        aggregate: type[A],
        stream_of: Callable[[UUID], str],
        encode: Callable[[E], Awaitable[IntegrationEvent]],
        decode: Callable[[StoredEvent], Awaitable[E]],
    ) -> None:
        self._store = store
        self._aggregate = aggregate
        self._stream_of = stream_of
        self._encode = encode
        self._decode = decode

    async def get(self, conn: asyncpg.Connection, aggregate_id: UUID) -> A | None:
        """The aggregate rebuilt from its events, or None if the stream is empty."""
        stored = await self._store.load(conn, self._stream_of(aggregate_id))
        if not stored:
            return None
        history: Iterable[E] = [await self._decode(row) for row in stored]
        aggregate: A = self._aggregate.replay(history)
        return aggregate

    async def save(
        self, conn: asyncpg.Connection, aggregate: A, *, aggregate_id: UUID, metadata: EventMetadata
    ) -> list[Recorded[E]]:
        """Append the aggregate's pending events at the version it was loaded at.

        Raises ``ConcurrentAppend`` when another writer got there first.
        """
        pending: list[E] = list(aggregate.pending)
        if not pending:
            return []
        contracts = [await self._encode(event) for event in pending]
        stored = await self._store.append(
            conn,
            stream_id=self._stream_of(aggregate_id),
            expected_version=aggregate.loaded_version,
            events=contracts,
            metadata=metadata,
        )
        aggregate.pending.clear()
        return [Recorded(event, row) for event, row in zip(pending, stored, strict=True)]
