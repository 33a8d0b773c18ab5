"""Event-sourced repositories: load an aggregate from its stream, append what it raised.

Both run on the caller's connection, inside the command's transaction (the unit of work), and
return the new domain events with their stored rows so the projections can be updated in that
same transaction (the stored row holds the ciphertext a projection keeps).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import asyncpg

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.envelope import EventMetadata
from byggrygg_shared.eventstore import EventStore, StoredEvent
from courses.adapters.event_codec import (
    FieldCipher,
    course_stream,
    decode_course_event,
    decode_enrolment_event,
    encode_course_event,
    encode_enrolment_event,
    enrolment_stream,
)
from courses.domain.aggregate import Aggregate
from courses.domain.course import Course, CourseEvent
from courses.domain.enrolment import Enrolment, EnrolmentEvent

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
        aggregate: type[A],
        stream_of: Callable[[UUID], str],
        encode: Callable[[E], Awaitable[IntegrationEvent]],
        decode: Callable[[StoredEvent], E],
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
        aggregate: A = self._aggregate.replay(self._decode(row) for row in stored)
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
        events = [await self._encode(event) for event in pending]
        stored = await self._store.append(
            conn,
            stream_id=self._stream_of(aggregate_id),
            expected_version=aggregate.loaded_version,
            events=events,
            metadata=metadata,
        )
        aggregate.pending.clear()
        return [Recorded(event, row) for event, row in zip(pending, stored, strict=True)]


class CourseRepository(_StreamRepository[Course, CourseEvent]):
    """Courses from the `course-<id>` streams."""

    def __init__(self, *, store: EventStore) -> None:
        async def encode(event: CourseEvent) -> IntegrationEvent:
            return encode_course_event(event)

        super().__init__(
            store=store,
            aggregate=Course,
            stream_of=course_stream,
            encode=encode,
            decode=decode_course_event,
        )


class EnrolmentRepository(_StreamRepository[Enrolment, EnrolmentEvent]):
    """Enrolments from the `enrolment-<id>` streams; free text is sealed with `cipher`."""

    def __init__(self, *, store: EventStore, cipher: FieldCipher) -> None:
        async def encode(event: EnrolmentEvent) -> IntegrationEvent:
            return await encode_enrolment_event(event, cipher)

        super().__init__(
            store=store,
            aggregate=Enrolment,
            stream_of=enrolment_stream,
            encode=encode,
            decode=decode_enrolment_event,
        )
