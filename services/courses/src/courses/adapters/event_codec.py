"""Translate between domain events (plaintext) and integration-event contracts (ciphertext).

Writing: a free-text answer is encrypted with the key ring under the learner's subject_ref
before the event is stored (DESIGN §4); nothing else of courses' events is personal content.
Reading: an enrolment's events rebuild the aggregate without decrypting anything (the aggregate
needs which questions were answered, not what was written), so an erased learner's enrolment
still loads and can still be ended.
"""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from byggrygg_shared.contracts import courses as contracts
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.eventstore import StoredEvent
from byggrygg_shared.keyring import Erased
from courses.domain.content import (
    AnswerValue,
    CourseContent,
    Module,
    Option,
    Question,
    QuestionKind,
    Scale,
)
from courses.domain.course import Course, CourseEvent
from courses.domain.enrolment import EndReason, Enrolment, EnrolmentEvent, EnrolmentOrigin


class FieldCipher(Protocol):
    """The part of the key ring the codec uses (``byggrygg_shared.keyring.KeyRing``)."""

    async def encrypt(self, subject_ref: str, plaintext: str) -> str: ...

    async def decrypt(self, subject_ref: str, token: str) -> str | Erased: ...


class UnexpectedEvent(Exception):
    """A stream holds an event type that does not belong to its aggregate."""


# --- content ------------------------------------------------------------------------------


def modules_to_contract(content: CourseContent) -> list[contracts.CourseModule]:
    return [
        contracts.CourseModule(
            module_id=module.module_id,
            title=module.title,
            questions=[
                contracts.QuestionDefinition(
                    question_id=q.question_id,
                    kind=q.kind.value,
                    prompt=q.prompt,
                    required=q.required,
                    options=[
                        contracts.QuestionOption(option_id=o.option_id, label=o.label)
                        for o in q.options
                    ],
                    scale=None
                    if q.scale is None
                    else contracts.ScaleRange(
                        low=q.scale.low,
                        high=q.scale.high,
                        low_label=q.scale.low_label,
                        high_label=q.scale.high_label,
                    ),
                    max_length=q.max_length,
                )
                for q in module.questions
            ],
        )
        for module in content.modules
    ]


def content_from_contract(
    title: str, description: str, modules: list[contracts.CourseModule]
) -> CourseContent:
    return CourseContent(
        title=title,
        description=description,
        modules=tuple(
            Module(
                module_id=m.module_id,
                title=m.title,
                questions=tuple(
                    Question(
                        question_id=q.question_id,
                        kind=QuestionKind(q.kind),
                        prompt=q.prompt,
                        required=q.required,
                        options=tuple(Option(o.option_id, o.label) for o in q.options),
                        scale=None
                        if q.scale is None
                        else Scale(
                            q.scale.low, q.scale.high, q.scale.low_label, q.scale.high_label
                        ),
                        max_length=q.max_length,
                    )
                    for q in m.questions
                ),
            )
            for m in modules
        ),
    )


def content_document(content: CourseContent) -> dict[str, Any]:
    """The JSON document of a content (projections store it; the API returns it)."""
    return {
        "title": content.title,
        "description": content.description,
        "modules": [m.model_dump(mode="json") for m in modules_to_contract(content)],
    }


def content_from_document(document: dict[str, Any]) -> CourseContent:
    return content_from_contract(
        document["title"],
        document["description"],
        [contracts.CourseModule.model_validate(m) for m in document["modules"]],
    )


# --- courses ------------------------------------------------------------------------------


def encode_course_event(event: CourseEvent) -> IntegrationEvent:
    match event:
        case Course.Created():
            return contracts.CourseCreated(
                course_id=event.course_id,
                title=event.content.title,
                description=event.content.description,
                modules=modules_to_contract(event.content),
                created_by=event.created_by,
            )
        case Course.DraftRevised():
            return contracts.CourseDraftRevised(
                course_id=event.course_id,
                title=event.content.title,
                description=event.content.description,
                modules=modules_to_contract(event.content),
                revised_by=event.revised_by,
            )
        case Course.Published():
            return contracts.CoursePublished(
                course_id=event.course_id,
                version=event.version,
                title=event.content.title,
                description=event.content.description,
                modules=modules_to_contract(event.content),
                published_by=event.published_by,
            )
        case Course.Assigned():
            return contracts.CourseAssigned(
                course_id=event.course_id,
                organisation_id=event.organisation_id,
                assigned_by=event.assigned_by,
            )


def decode_course_event(stored: StoredEvent) -> CourseEvent:
    contract = stored.contract()
    match contract:
        case contracts.CourseCreated():
            return Course.Created(
                course_id=contract.course_id,
                content=content_from_contract(
                    contract.title, contract.description, contract.modules
                ),
                created_by=contract.created_by,
            )
        case contracts.CourseDraftRevised():
            return Course.DraftRevised(
                course_id=contract.course_id,
                content=content_from_contract(
                    contract.title, contract.description, contract.modules
                ),
                revised_by=contract.revised_by,
            )
        case contracts.CoursePublished():
            return Course.Published(
                course_id=contract.course_id,
                version=contract.version,
                content=content_from_contract(
                    contract.title, contract.description, contract.modules
                ),
                published_by=contract.published_by,
            )
        case contracts.CourseAssigned():
            return Course.Assigned(
                course_id=contract.course_id,
                organisation_id=contract.organisation_id,
                assigned_by=contract.assigned_by,
            )
    raise UnexpectedEvent(f"{stored.ce_type} in course stream {stored.stream_id}")


# --- enrolments ---------------------------------------------------------------------------


async def encode_enrolment_event(event: EnrolmentEvent, cipher: FieldCipher) -> IntegrationEvent:
    """The contract of an enrolment event; a free-text answer is encrypted (R4, DESIGN §4)."""
    match event:
        case Enrolment.Started():
            return contracts.EnrolmentStarted(
                enrolment_id=event.enrolment_id,
                course_id=event.course_id,
                course_version=event.course_version,
                user_id=event.user_id,
                subject_ref=event.subject_ref,
                organisation_id=event.organisation_id,
                origin=event.origin.value,
                started_by=event.started_by,
            )
        case Enrolment.AnswerSubmitted():
            answer = event.answer
            return contracts.AnswerSubmitted(
                enrolment_id=event.enrolment_id,
                course_id=event.course_id,
                course_version=event.course_version,
                question_id=event.question_id,
                kind=event.kind.value,
                subject_ref=event.subject_ref,
                organisation_id=event.organisation_id,
                selected_option_ids=None
                if answer.selected_option_ids is None
                else list(answer.selected_option_ids),
                scale_value=answer.scale_value,
                free_text=None
                if answer.free_text is None
                else await cipher.encrypt(event.subject_ref, answer.free_text),
            )
        case Enrolment.Completed():
            return contracts.CourseCompleted(
                enrolment_id=event.enrolment_id,
                course_id=event.course_id,
                course_version=event.course_version,
                subject_ref=event.subject_ref,
                organisation_id=event.organisation_id,
                completed_at=event.completed_at,
            )
        case Enrolment.Ended():
            return contracts.EnrolmentEnded(
                enrolment_id=event.enrolment_id,
                course_id=event.course_id,
                subject_ref=event.subject_ref,
                organisation_id=event.organisation_id,
                reason=event.reason.value,
            )
        case Enrolment.Erased():
            return contracts.EnrolmentErased(
                enrolment_id=event.enrolment_id,
                course_id=event.course_id,
                subject_ref=event.subject_ref,
                organisation_id=event.organisation_id,
                request_id=event.request_id,
                answers_anonymised=event.answers_anonymised,
            )


def decode_enrolment_event(stored: StoredEvent) -> EnrolmentEvent:
    """The domain event of a stored enrolment event. A free-text answer stays a token: the
    aggregate only needs to know that the question was answered."""
    contract = stored.contract()
    match contract:
        case contracts.EnrolmentStarted():
            return Enrolment.Started(
                enrolment_id=contract.enrolment_id,
                course_id=contract.course_id,
                course_version=contract.course_version,
                user_id=contract.user_id,
                subject_ref=contract.subject_ref,
                organisation_id=contract.organisation_id,
                origin=EnrolmentOrigin(contract.origin),
                started_by=contract.started_by,
            )
        case contracts.AnswerSubmitted():
            return Enrolment.AnswerSubmitted(
                enrolment_id=contract.enrolment_id,
                course_id=contract.course_id,
                course_version=contract.course_version,
                question_id=contract.question_id,
                kind=QuestionKind(contract.kind),
                subject_ref=contract.subject_ref,
                organisation_id=contract.organisation_id,
                answer=AnswerValue(
                    selected_option_ids=None
                    if contract.selected_option_ids is None
                    else tuple(contract.selected_option_ids),
                    scale_value=contract.scale_value,
                    free_text=contract.free_text,
                ),
            )
        case contracts.CourseCompleted():
            return Enrolment.Completed(
                enrolment_id=contract.enrolment_id,
                course_id=contract.course_id,
                course_version=contract.course_version,
                subject_ref=contract.subject_ref,
                organisation_id=contract.organisation_id,
                completed_at=contract.completed_at,
            )
        case contracts.EnrolmentEnded():
            return Enrolment.Ended(
                enrolment_id=contract.enrolment_id,
                course_id=contract.course_id,
                subject_ref=contract.subject_ref,
                organisation_id=contract.organisation_id,
                reason=EndReason(contract.reason),
            )
        case contracts.EnrolmentErased():
            return Enrolment.Erased(
                enrolment_id=contract.enrolment_id,
                course_id=contract.course_id,
                subject_ref=contract.subject_ref,
                organisation_id=contract.organisation_id,
                request_id=contract.request_id,
                answers_anonymised=contract.answers_anonymised,
            )
    raise UnexpectedEvent(f"{stored.ce_type} in enrolment stream {stored.stream_id}")


def course_stream(course_id: UUID) -> str:
    return f"course-{course_id}"


def enrolment_stream(enrolment_id: UUID) -> str:
    return f"enrolment-{enrolment_id}"
