"""courses' event-sourced repositories: courses and enrolments from their streams.

The mechanics (load and replay, append at the loaded version, return what was recorded) are
`byggrygg_shared.repository`; here each aggregate gets its stream and its codec. Course events
hold nothing personal; an enrolment's free-text answers are sealed with the key ring.
"""

from __future__ import annotations

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.eventstore import EventStore, StoredEvent
from byggrygg_shared.repository import EventSourcedRepository, Recorded
from courses.adapters.event_codec import (
    FieldCipher,
    course_stream,
    decode_course_event,
    decode_enrolment_event,
    encode_course_event,
    encode_enrolment_event,
    enrolment_stream,
)
from courses.domain.course import Course, CourseEvent
from courses.domain.enrolment import Enrolment, EnrolmentEvent

__all__ = ["CourseRepository", "EnrolmentRepository", "Recorded"]


class CourseRepository(EventSourcedRepository[Course, CourseEvent]):
    """Courses from the `course-<id>` streams."""

    def __init__(self, *, store: EventStore) -> None:
        async def encode(event: CourseEvent) -> IntegrationEvent:
            return encode_course_event(event)

        async def decode(stored: StoredEvent) -> CourseEvent:
            return decode_course_event(stored)

        super().__init__(
            store=store, aggregate=Course, stream_of=course_stream, encode=encode, decode=decode
        )


class EnrolmentRepository(EventSourcedRepository[Enrolment, EnrolmentEvent]):
    """Enrolments from the `enrolment-<id>` streams; free text is sealed with `cipher`."""

    def __init__(self, *, store: EventStore, cipher: FieldCipher) -> None:
        async def decode(stored: StoredEvent) -> EnrolmentEvent:
            return decode_enrolment_event(stored)

        super().__init__(
            store=store,
            aggregate=Enrolment,
            stream_of=enrolment_stream,
            encode=lambda event: encode_enrolment_event(event, cipher),
            decode=decode,
        )
