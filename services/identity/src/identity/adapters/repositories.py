"""Event-sourced repositories: load an aggregate from its stream, append what it raised.

Both run on the caller's connection, inside the command's transaction (the unit of work), and
return the new domain events with their stored rows so the projections can be updated in that
same transaction.
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
from identity.adapters.event_codec import (
    FieldCipher,
    decode_organisation_event,
    decode_user_event,
    encode_organisation_event,
    encode_user_event,
    organisation_stream,
    user_stream,
)
from identity.domain.aggregate import Aggregate
from identity.domain.organisation import Organisation, OrganisationEvent
from identity.domain.user import User, UserEvent

E = TypeVar("E")
A = TypeVar("A", bound=Aggregate[Any])


@dataclass(frozen=True)
class Recorded(Generic[E]):
    """A domain event just appended, with its row in the event store."""

    event: E
    stored: StoredEvent


class _StreamRepository(Generic[A, E]):
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
        self,
        conn: asyncpg.Connection,
        aggregate: A,
        *,
        aggregate_id: UUID,
        metadata: EventMetadata,
    ) -> list[Recorded[E]]:
        """Append the aggregate's pending events at the version it was loaded at.

        Raises ``ConcurrentAppend`` when another writer got there first.
        """
        pending: Sequence[E] = list(aggregate.pending)
        if not pending:
            return []
        contracts = [await self._encode(event, self._cipher) for event in pending]
        stored = await self._store.append(
            conn,
            stream_id=self._stream_of(aggregate_id),
            expected_version=aggregate.loaded_version,
            events=contracts,
            metadata=metadata,
        )
        aggregate.pending.clear()
        return [Recorded(event, row) for event, row in zip(pending, stored, strict=True)]


class OrganisationRepository(_StreamRepository[Organisation, OrganisationEvent]):
    """Organisations from the `organisation-<id>` streams."""

    def __init__(self, *, store: EventStore, cipher: FieldCipher) -> None:
        super().__init__(
            store=store,
            cipher=cipher,
            aggregate=Organisation,
            stream_of=organisation_stream,
            encode=encode_organisation_event,
            decode=decode_organisation_event,
        )


class UserRepository(_StreamRepository[User, UserEvent]):
    """Users from the `user-<id>` streams."""

    def __init__(self, *, store: EventStore, cipher: FieldCipher) -> None:
        super().__init__(
            store=store,
            cipher=cipher,
            aggregate=User,
            stream_of=user_stream,
            encode=encode_user_event,
            decode=decode_user_event,
        )
