"""The Enrolment aggregate and answer validation: kinds, re-answering, completion, end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from courses.domain.content import AnswerValue, CourseContent, Question, QuestionKind
from courses.domain.enrolment import EndReason, Enrolment, EnrolmentOrigin, EnrolmentStatus
from courses.domain.errors import (
    EnrolmentAlreadyCompleted,
    EnrolmentEnded,
    InvalidAnswer,
    QuestionNotInCourse,
    RequiredQuestionsUnanswered,
)

QuestionOf = Callable[[CourseContent, QuestionKind], Question]
NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def start() -> Enrolment:
    return Enrolment.start(
        enrolment_id=uuid4(),
        course_id=uuid4(),
        course_version=1,
        user_id=uuid4(),
        subject_ref="subj_" + "a" * 32,
        organisation_id=uuid4(),
        origin=EnrolmentOrigin.LICENCE,
        started_by="licence",
    )


def answer_all_required(enrolment: Enrolment, content: CourseContent) -> None:
    for q in content.questions:
        if q.kind.is_choice:
            value = AnswerValue(selected_option_ids=(q.options[0].option_id,))
        elif q.kind is QuestionKind.SCALE:
            value = AnswerValue(scale_value=3)
        else:
            continue
        enrolment.submit_answer(content=content, question_id=q.question_id, answer=value)


def test_valid_answers_of_each_kind_are_normalised(
    make_content: Callable[..., CourseContent], question: QuestionOf
) -> None:
    content = make_content()
    enrolment = start()
    multiple = question(content, QuestionKind.MULTIPLE_CHOICE)
    picked = (multiple.options[2].option_id, multiple.options[0].option_id)
    stored = enrolment.submit_answer(
        content=content,
        question_id=multiple.question_id,
        answer=AnswerValue(selected_option_ids=picked),
    )
    assert stored.selected_option_ids == tuple(sorted(picked, key=str))
    text = question(content, QuestionKind.FREE_TEXT)
    stored = enrolment.submit_answer(
        content=content,
        question_id=text.question_id,
        answer=AnswerValue(free_text="  Linje 1\nLinje 2\t \n"),
    )
    assert stored.free_text == "Linje 1\nLinje 2"


@pytest.mark.parametrize(
    ("kind", "make_answer"),
    [
        (QuestionKind.SINGLE_CHOICE, lambda q: AnswerValue(selected_option_ids=())),
        (
            QuestionKind.SINGLE_CHOICE,
            lambda q: AnswerValue(selected_option_ids=tuple(o.option_id for o in q.options)),
        ),
        (QuestionKind.SINGLE_CHOICE, lambda q: AnswerValue(selected_option_ids=(uuid4(),))),
        (QuestionKind.SINGLE_CHOICE, lambda q: AnswerValue(scale_value=1)),
        (
            QuestionKind.MULTIPLE_CHOICE,
            lambda q: AnswerValue(selected_option_ids=(q.options[0].option_id,) * 2),
        ),
        (QuestionKind.SCALE, lambda q: AnswerValue(scale_value=6)),
        (QuestionKind.SCALE, lambda q: AnswerValue(scale_value=0)),
        (QuestionKind.SCALE, lambda q: AnswerValue(free_text="3")),
        (QuestionKind.FREE_TEXT, lambda q: AnswerValue(free_text="   ")),
        (QuestionKind.FREE_TEXT, lambda q: AnswerValue(free_text="x" * 51)),
        (QuestionKind.FREE_TEXT, lambda q: AnswerValue(free_text="nul\x00byte")),
        (QuestionKind.FREE_TEXT, lambda q: AnswerValue(free_text="bell\x07")),
        (
            QuestionKind.FREE_TEXT,
            lambda q: AnswerValue(free_text="ok", scale_value=1),
        ),
    ],
)
def test_answers_that_do_not_fit_the_question_are_refused_and_raise_nothing(
    make_content: Callable[..., CourseContent],
    question: QuestionOf,
    kind: QuestionKind,
    make_answer: Callable[[Question], AnswerValue],
) -> None:
    content = make_content()
    enrolment = start()
    target = question(content, kind)
    with pytest.raises(InvalidAnswer):
        enrolment.submit_answer(
            content=content, question_id=target.question_id, answer=make_answer(target)
        )
    assert len(enrolment.pending) == 1  # only Started


def test_a_question_of_another_course_is_refused(
    make_content: Callable[..., CourseContent],
) -> None:
    with pytest.raises(QuestionNotInCourse):
        start().submit_answer(
            content=make_content(), question_id=uuid4(), answer=AnswerValue(scale_value=1)
        )


def test_re_answering_is_allowed_until_completion_and_completion_needs_required_answers(
    make_content: Callable[..., CourseContent], question: QuestionOf
) -> None:
    content = make_content()
    enrolment = start()
    with pytest.raises(RequiredQuestionsUnanswered):
        enrolment.complete(content=content, completed_at=NOW)
    scale = question(content, QuestionKind.SCALE)
    for value in (2, 4):
        enrolment.submit_answer(
            content=content, question_id=scale.question_id, answer=AnswerValue(scale_value=value)
        )
    answer_all_required(enrolment, content)
    enrolment.complete(content=content, completed_at=NOW)  # the optional free text may wait
    assert enrolment.status is EnrolmentStatus.COMPLETED
    with pytest.raises(EnrolmentAlreadyCompleted):
        enrolment.submit_answer(
            content=content, question_id=scale.question_id, answer=AnswerValue(scale_value=1)
        )


def test_after_access_ended_nothing_is_accepted_and_ending_twice_is_a_no_op(
    make_content: Callable[..., CourseContent], question: QuestionOf
) -> None:
    content = make_content()
    enrolment = start()
    assert enrolment.end(reason=EndReason.LICENCE_REVOKED)
    assert not enrolment.end(reason=EndReason.SUBSCRIPTION_CANCELLED)
    scale = question(content, QuestionKind.SCALE)
    with pytest.raises(EnrolmentEnded):
        enrolment.submit_answer(
            content=content, question_id=scale.question_id, answer=AnswerValue(scale_value=1)
        )
    with pytest.raises(EnrolmentEnded):
        enrolment.complete(content=content, completed_at=NOW)


def test_replay_gives_the_same_state(make_content: Callable[..., CourseContent]) -> None:
    content = make_content()
    enrolment = start()
    answer_all_required(enrolment, content)
    enrolment.complete(content=content, completed_at=NOW)
    replayed = Enrolment.replay(enrolment.pending)
    assert (replayed.status, replayed.answered, replayed.version) == (
        enrolment.status,
        enrolment.answered,
        enrolment.version,
    )
