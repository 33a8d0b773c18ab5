"""Reading single answers (R3, R4): platform staff only.

Every query here starts with ``require_answer_reader``: an org admin or contact person gets 403
whatever the enrolment, course, organisation or filter, their own organisation included. The
learner reads their own answers through ``learning.get_my_answers`` instead. Free text is
decrypted here, for the response only; an erased learner's text reads as "[erased]".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from byggrygg_shared.keyring import Erased
from courses.adapters.queries import (
    StoredAnswer,
    answers_of_course,
    answers_of_enrolment,
    fetch_course,
    fetch_enrolment,
)
from courses.service_layer.access import require_answer_reader
from courses.service_layer.context import Actor, Dependencies
from courses.service_layer.errors import CourseNotFound, EnrolmentNotFound


@dataclass(frozen=True)
class AnswerView:
    enrolment_id: UUID
    question_id: UUID
    course_id: UUID
    course_version: int
    organisation_id: UUID
    subject_ref: str
    kind: str
    selected_option_ids: list[UUID] | None
    scale_value: int | None
    free_text: str | None
    free_text_erased: bool
    submissions: int
    answered_at: datetime


async def reveal(deps: Dependencies, answer: StoredAnswer) -> AnswerView:
    """The answer with its free text decrypted (for a caller allowed to read it)."""
    text: str | None = None
    erased = False
    if answer.free_text_token is not None:
        plain = await deps.cipher.decrypt(answer.subject_ref, answer.free_text_token)
        erased = isinstance(plain, Erased)
        text = str(plain)
    return AnswerView(
        enrolment_id=answer.enrolment_id,
        question_id=answer.question_id,
        course_id=answer.course_id,
        course_version=answer.course_version,
        organisation_id=answer.organisation_id,
        subject_ref=answer.subject_ref,
        kind=answer.kind,
        selected_option_ids=answer.selected_option_ids,
        scale_value=answer.scale_value,
        free_text=text,
        free_text_erased=erased,
        submissions=answer.submissions,
        answered_at=answer.answered_at,
    )


async def get_enrolment_answers(
    *, deps: Dependencies, actor: Actor, enrolment_id: UUID
) -> list[AnswerView]:
    require_answer_reader(actor)
    async with deps.pool.acquire() as conn:
        if await fetch_enrolment(conn, enrolment_id) is None:
            raise EnrolmentNotFound(str(enrolment_id))
        stored = await answers_of_enrolment(conn, enrolment_id)
    return [await reveal(deps, answer) for answer in stored]


async def get_course_answers(
    *,
    deps: Dependencies,
    actor: Actor,
    course_id: UUID,
    organisation_id: UUID | None,
    course_version: int | None,
    question_id: UUID | None,
    limit: int,
    offset: int,
) -> list[AnswerView]:
    require_answer_reader(actor)
    async with deps.pool.acquire() as conn:
        if await fetch_course(conn, course_id) is None:
            raise CourseNotFound(str(course_id))
        stored = await answers_of_course(
            conn,
            course_id,
            organisation_id=organisation_id,
            course_version=course_version,
            question_id=question_id,
            limit=limit,
            offset=offset,
        )
    return [await reveal(deps, answer) for answer in stored]
