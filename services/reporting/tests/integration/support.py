"""Test helpers of reporting: courses' events as courses' outbox relay publishes them (a
published course with a choice, a scale and a free-text question; enrolments, answers,
completions), applied directly to the read models or produced to real Kafka topics.

The statistics tests use them too (``from .support import CourseStory``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from byggrygg_shared.contracts import courses as contracts
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import EventMetadata, KafkaRecord, from_kafka_record, kafka_record
from byggrygg_shared.eventstore import metadata_document
from reporting.service_layer.projection import apply_event

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Course:
    """A published course: one single-choice (options a, b, c), one scale (1-5), one free-text
    question."""

    course_id: uuid.UUID
    choice: uuid.UUID
    options: tuple[uuid.UUID, ...]
    scale: uuid.UUID
    text: uuid.UUID


@dataclass(frozen=True)
class Enrolment:
    enrolment_id: uuid.UUID
    course: Course
    organisation_id: uuid.UUID
    subject_ref: str


@dataclass
class CourseStory:
    """Courses' events in publication order, as Kafka records on the given topics."""

    catalogue_topic: str = contracts.CATALOGUE_TOPIC
    enrolment_topic: str = contracts.ENROLMENT_TOPIC
    records: list[KafkaRecord] = field(default_factory=list)

    def _add(self, event: IntegrationEvent, *, stream_id: str, at: datetime, topic: str) -> None:
        metadata = EventMetadata.new(
            subject_ref=getattr(event, "subject_ref", None), clock=lambda: at
        )
        self.records.append(
            kafka_record(
                topic=topic,
                stream_id=stream_id,
                ce_type=event.ce_type(),
                payload=event.model_dump(mode="json"),
                metadata=metadata_document(event, metadata),
                source_service="courses",
            )
        )

    def course(self, *, organisations: tuple[uuid.UUID, ...] = (), at: datetime = START) -> Course:
        course = Course(
            course_id=uuid.uuid4(),
            choice=uuid.uuid4(),
            options=(uuid.uuid4(), uuid.uuid4(), uuid.uuid4()),
            scale=uuid.uuid4(),
            text=uuid.uuid4(),
        )
        modules = [
            contracts.CourseModule(
                module_id=uuid.uuid4(),
                title="Løfteteknikk",
                questions=[
                    contracts.QuestionDefinition(
                        question_id=course.choice,
                        kind="single_choice",
                        prompt="Hvordan løfter du?",
                        required=True,
                        options=[
                            contracts.QuestionOption(option_id=option, label=label)
                            for option, label in zip(course.options, "abc", strict=True)
                        ],
                    ),
                    contracts.QuestionDefinition(
                        question_id=course.scale,
                        kind="scale",
                        prompt="Hvor vondt har du i ryggen?",
                        required=True,
                        scale=contracts.ScaleRange(low=1, high=5),
                    ),
                    contracts.QuestionDefinition(
                        question_id=course.text,
                        kind="free_text",
                        prompt="Noe annet?",
                        required=False,
                        max_length=500,
                    ),
                ],
            )
        ]
        stream = f"course-{course.course_id}"
        topic = self.catalogue_topic
        self._add(
            contracts.CourseCreated(
                course_id=course.course_id,
                title="Trygt løft",
                description="Kurs",
                modules=modules,
                created_by="staff-1",
            ),
            stream_id=stream,
            at=at,
            topic=topic,
        )
        self._add(
            contracts.CoursePublished(
                course_id=course.course_id,
                version=1,
                title="Trygt løft",
                description="Kurs",
                modules=modules,
                published_by="staff-1",
            ),
            stream_id=stream,
            at=at,
            topic=topic,
        )
        for organisation in organisations:
            self._add(
                contracts.CourseAssigned(
                    course_id=course.course_id, organisation_id=organisation, assigned_by="staff-1"
                ),
                stream_id=stream,
                at=at,
                topic=topic,
            )
        return course

    def enrol(
        self,
        course: Course,
        organisation_id: uuid.UUID,
        *,
        subject_ref: str | None = None,
        at: datetime = START,
    ) -> Enrolment:
        enrolment = Enrolment(
            enrolment_id=uuid.uuid4(),
            course=course,
            organisation_id=organisation_id,
            subject_ref=subject_ref or f"subj_{uuid.uuid4().hex}",
        )
        self._add(
            contracts.EnrolmentStarted(
                enrolment_id=enrolment.enrolment_id,
                course_id=course.course_id,
                course_version=1,
                user_id=uuid.uuid4(),
                subject_ref=enrolment.subject_ref,
                organisation_id=organisation_id,
                origin="assignment",
                started_by="staff-1",
            ),
            stream_id=f"enrolment-{enrolment.enrolment_id}",
            at=at,
            topic=self.enrolment_topic,
        )
        return enrolment

    def answer(
        self,
        enrolment: Enrolment,
        question: uuid.UUID,
        *,
        at: datetime = START,
        **value: Any,
    ) -> None:
        """``value``: ``selected_option_ids=[...]``, ``scale_value=n`` or ``free_text=token``."""
        course = enrolment.course
        kind = (
            "single_choice"
            if question == course.choice
            else "scale"
            if question == course.scale
            else "free_text"
        )
        self._add(
            contracts.AnswerSubmitted(
                enrolment_id=enrolment.enrolment_id,
                course_id=course.course_id,
                course_version=1,
                question_id=question,
                kind=kind,
                subject_ref=enrolment.subject_ref,
                organisation_id=enrolment.organisation_id,
                **value,
            ),
            stream_id=f"enrolment-{enrolment.enrolment_id}",
            at=at,
            topic=self.enrolment_topic,
        )

    def complete(self, enrolment: Enrolment, *, at: datetime = START) -> None:
        self._add(
            contracts.CourseCompleted(
                enrolment_id=enrolment.enrolment_id,
                course_id=enrolment.course.course_id,
                course_version=1,
                subject_ref=enrolment.subject_ref,
                organisation_id=enrolment.organisation_id,
                completed_at=at,
            ),
            stream_id=f"enrolment-{enrolment.enrolment_id}",
            at=at,
            topic=self.enrolment_topic,
        )

    def end(self, enrolment: Enrolment, *, at: datetime = START) -> None:
        self._add(
            contracts.EnrolmentEnded(
                enrolment_id=enrolment.enrolment_id,
                course_id=enrolment.course.course_id,
                subject_ref=enrolment.subject_ref,
                organisation_id=enrolment.organisation_id,
                reason="licence_revoked",
            ),
            stream_id=f"enrolment-{enrolment.enrolment_id}",
            at=at,
            topic=self.enrolment_topic,
        )

    def erased_by_courses(self, enrolment: Enrolment, *, at: datetime = START) -> None:
        self._add(
            contracts.EnrolmentErased(
                enrolment_id=enrolment.enrolment_id,
                course_id=enrolment.course.course_id,
                subject_ref=enrolment.subject_ref,
                organisation_id=enrolment.organisation_id,
                request_id=uuid.uuid4(),
                answers_anonymised=1,
            ),
            stream_id=f"enrolment-{enrolment.enrolment_id}",
            at=at,
            topic=self.enrolment_topic,
        )


async def apply_records(pool: asyncpg.Pool, records: list[KafkaRecord]) -> None:
    """Apply `records` to the read models in order, each in its own transaction (as the live
    subscribers do, without Kafka)."""
    for record in records:
        event = from_kafka_record(record.headers, record.value, key=record.key)
        async with transaction(pool) as conn:
            await apply_event(conn, event)
