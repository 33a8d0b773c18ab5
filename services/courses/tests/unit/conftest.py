"""Fixtures of courses' unit tests: builders of domain objects (no I/O).

Tests get the builders as fixtures (test modules cannot import each other under
`--import-mode=importlib`)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from courses.domain.content import (
    CourseContent,
    Module,
    Option,
    Question,
    QuestionKind,
    Scale,
)

STAFF = "staff-1"


def sample_content(*, title: str = "Sikker bruk av stillas") -> CourseContent:
    """One module with one question of each kind; the free-text question is optional."""
    return CourseContent(
        title=title,
        description="Grunnkurs",
        modules=(
            Module(
                module_id=uuid4(),
                title="Modul 1",
                questions=(
                    Question(
                        question_id=uuid4(),
                        kind=QuestionKind.SINGLE_CHOICE,
                        prompt="Hvem kontrollerer stillaset?",
                        required=True,
                        options=(Option(uuid4(), "Bas"), Option(uuid4(), "Alle")),
                    ),
                    Question(
                        question_id=uuid4(),
                        kind=QuestionKind.MULTIPLE_CHOICE,
                        prompt="Hva trengs?",
                        required=True,
                        options=(
                            Option(uuid4(), "Hjelm"),
                            Option(uuid4(), "Sele"),
                            Option(uuid4(), "Sandaler"),
                        ),
                    ),
                    Question(
                        question_id=uuid4(),
                        kind=QuestionKind.SCALE,
                        prompt="Hvor trygg føler du deg?",
                        required=True,
                        scale=Scale(1, 5, "lite", "svært"),
                    ),
                    Question(
                        question_id=uuid4(),
                        kind=QuestionKind.FREE_TEXT,
                        prompt="Kommentar?",
                        required=False,
                        max_length=50,
                    ),
                ),
            ),
        ),
    )


def question_of(content: CourseContent, kind: QuestionKind) -> Question:
    return next(q for q in content.questions if q.kind is kind)


@pytest.fixture
def make_content() -> Callable[..., CourseContent]:
    return sample_content


@pytest.fixture
def question() -> Callable[[CourseContent, QuestionKind], Question]:
    return question_of


@pytest.fixture
def new_id() -> Callable[[], UUID]:
    return uuid4
