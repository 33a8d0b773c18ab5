"""The Course aggregate: drafts, immutable published versions, assignment rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from uuid import uuid4

import pytest

from courses.domain.content import CourseContent, Module, Option, Question, QuestionKind
from courses.domain.course import Course
from courses.domain.errors import (
    CourseAlreadyAssigned,
    CourseNotPublished,
    InvalidCourseContent,
    NothingToPublish,
)

ContentFactory = Callable[..., CourseContent]


def new_course(content: CourseContent) -> Course:
    return Course.create(course_id=uuid4(), content=content, created_by="staff")


def test_publishing_freezes_the_draft_and_later_edits_make_a_new_version(
    make_content: ContentFactory,
) -> None:
    first = make_content()
    course = new_course(first)
    assert course.publish(published_by="staff") == 1
    second = replace(first, title="Stillas, utgave 2")
    assert course.revise(second, revised_by="staff")
    assert course.versions[1] == first  # the published version did not change
    assert not course.draft_is_published
    assert course.publish(published_by="staff") == 2
    assert course.versions == {1: first, 2: second}
    assert course.draft_is_published


def test_publishing_an_unchanged_draft_or_one_without_questions_is_refused(
    make_content: ContentFactory,
) -> None:
    course = new_course(make_content())
    course.publish(published_by="staff")
    with pytest.raises(NothingToPublish):
        course.publish(published_by="staff")
    empty = new_course(CourseContent(title="Tomt", description="", modules=()))
    with pytest.raises(NothingToPublish):
        empty.publish(published_by="staff")


def test_an_identical_revision_raises_no_event(make_content: ContentFactory) -> None:
    content = make_content()
    course = new_course(content)
    assert not course.revise(content, revised_by="staff")
    assert len(course.pending) == 1


def test_only_a_published_course_is_assigned_and_only_once(make_content: ContentFactory) -> None:
    course = new_course(make_content())
    organisation = uuid4()
    with pytest.raises(CourseNotPublished):
        course.assign(organisation_id=organisation, assigned_by="staff")
    course.publish(published_by="staff")
    course.assign(organisation_id=organisation, assigned_by="staff")
    with pytest.raises(CourseAlreadyAssigned):
        course.assign(organisation_id=organisation, assigned_by="staff")


def test_replaying_the_events_gives_the_same_course(make_content: ContentFactory) -> None:
    course = new_course(make_content())
    course.publish(published_by="staff")
    course.assign(organisation_id=uuid4(), assigned_by="staff")
    replayed = Course.replay(course.pending)
    assert (replayed.draft, replayed.versions, replayed.organisations, replayed.version) == (
        course.draft,
        course.versions,
        course.organisations,
        course.version,
    )


def _choice(*labels: str, kind: QuestionKind = QuestionKind.SINGLE_CHOICE) -> Question:
    return Question(
        question_id=uuid4(),
        kind=kind,
        prompt="?",
        required=True,
        options=tuple(Option(uuid4(), label) for label in labels),
    )


@pytest.mark.parametrize(
    "question",
    [
        _choice("only one"),
        Question(question_id=uuid4(), kind=QuestionKind.SCALE, prompt="?", required=True),
        Question(question_id=uuid4(), kind=QuestionKind.FREE_TEXT, prompt="?", required=True),
        replace(_choice("a", "b"), max_length=10),
        Question(
            question_id=uuid4(),
            kind=QuestionKind.FREE_TEXT,
            prompt="?",
            required=True,
            max_length=10,
            options=(Option(uuid4(), "x"),),
        ),
    ],
    ids=["one-option", "no-scale", "no-limit", "choice-with-limit", "text-with-options"],
)
def test_malformed_questions_are_refused(question: Question) -> None:
    content = CourseContent(title="T", description="", modules=(Module(uuid4(), "M", (question,)),))
    with pytest.raises(InvalidCourseContent):
        new_course(content)


def test_duplicate_ids_are_refused() -> None:
    question = _choice("a", "b")
    content = CourseContent(
        title="T", description="", modules=(Module(uuid4(), "M", (question, question)),)
    )
    with pytest.raises(InvalidCourseContent):
        new_course(content)
