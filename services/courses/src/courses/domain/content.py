"""The content of a course (modules and questions) and of an answer, with their rules (R3).

Content is a value: a draft is replaced as a whole, and publishing freezes it as a version.
Answers are checked against the question they answer: option ids must exist (one for a single
choice, a set for a multiple choice), a scale value must lie in the range, free text must be
non-empty, within the question's length limit and free of control characters (newline and tab
excepted: answers may have paragraphs).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from uuid import UUID

from courses.domain.errors import InvalidAnswer, InvalidCourseContent

MAX_SCALE_POINTS: Final = 101
DEFAULT_TEXT_LENGTH: Final = 2000
MAX_TEXT_LENGTH: Final = 10_000
_ALLOWED_CONTROLS: Final = frozenset("\n\t")


class QuestionKind(StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    SCALE = "scale"
    FREE_TEXT = "free_text"

    @property
    def is_choice(self) -> bool:
        return self in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)


@dataclass(frozen=True)
class Option:
    option_id: UUID
    label: str


@dataclass(frozen=True)
class Scale:
    low: int
    high: int
    low_label: str | None = None
    high_label: str | None = None


@dataclass(frozen=True)
class Question:
    question_id: UUID
    kind: QuestionKind
    prompt: str
    required: bool
    options: tuple[Option, ...] = ()
    scale: Scale | None = None
    max_length: int | None = None

    def check(self) -> None:
        """Raise ``InvalidCourseContent`` unless the question is well formed for its kind."""
        if self.kind.is_choice:
            if len(self.options) < 2:
                raise InvalidCourseContent("a choice question needs at least two options")
            if self.scale is not None or self.max_length is not None:
                raise InvalidCourseContent("a choice question has options only")
        elif self.options:
            raise InvalidCourseContent("only choice questions have options")
        if self.kind is QuestionKind.SCALE:
            if self.scale is None:
                raise InvalidCourseContent("a scale question needs a scale")
            if not 1 <= self.scale.high - self.scale.low < MAX_SCALE_POINTS:
                raise InvalidCourseContent(
                    f"a scale runs from low to a higher high, at most {MAX_SCALE_POINTS} points"
                )
        elif self.scale is not None:
            raise InvalidCourseContent("only scale questions have a scale")
        if self.kind is QuestionKind.FREE_TEXT:
            if self.max_length is None or not 1 <= self.max_length <= MAX_TEXT_LENGTH:
                raise InvalidCourseContent(f"free text allows 1..{MAX_TEXT_LENGTH} characters")
        elif self.max_length is not None:
            raise InvalidCourseContent("only free-text questions have a maximum length")

    def validate(self, answer: AnswerValue) -> AnswerValue:
        """The answer normalised (sorted option ids, trimmed text), or ``InvalidAnswer``."""
        match self.kind:
            case QuestionKind.SINGLE_CHOICE | QuestionKind.MULTIPLE_CHOICE:
                return self._validate_choice(answer)
            case QuestionKind.SCALE:
                return self._validate_scale(answer)
            case QuestionKind.FREE_TEXT:
                return self._validate_text(answer)

    def _validate_choice(self, answer: AnswerValue) -> AnswerValue:
        selected = answer.selected_option_ids
        if selected is None or answer.scale_value is not None or answer.free_text is not None:
            raise InvalidAnswer("a choice question is answered with selected option ids")
        if len(set(selected)) != len(selected):
            raise InvalidAnswer("an option may be selected once")
        if self.kind is QuestionKind.SINGLE_CHOICE and len(selected) != 1:
            raise InvalidAnswer("a single-choice question takes exactly one option")
        if not selected:
            raise InvalidAnswer("select at least one option")
        known = {option.option_id for option in self.options}
        if not set(selected) <= known:
            raise InvalidAnswer("an option id is not an option of this question")
        return AnswerValue(selected_option_ids=tuple(sorted(selected, key=str)))

    def _validate_scale(self, answer: AnswerValue) -> AnswerValue:
        value = answer.scale_value
        if value is None or answer.selected_option_ids is not None or answer.free_text is not None:
            raise InvalidAnswer("a scale question is answered with a scale value")
        assert self.scale is not None  # checked when the course was drafted
        if not self.scale.low <= value <= self.scale.high:
            raise InvalidAnswer("the value is outside the question's scale")
        return AnswerValue(scale_value=value)

    def _validate_text(self, answer: AnswerValue) -> AnswerValue:
        text = answer.free_text
        if text is None or answer.selected_option_ids is not None or answer.scale_value is not None:
            raise InvalidAnswer("a free-text question is answered with text")
        text = text.strip()
        if not text:
            raise InvalidAnswer("the answer is empty")
        if len(text) > (self.max_length or DEFAULT_TEXT_LENGTH):
            raise InvalidAnswer("the answer is longer than the question allows")
        if any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in text):
            raise InvalidAnswer("the answer contains control characters")
        return AnswerValue(free_text=text)


@dataclass(frozen=True)
class Module:
    module_id: UUID
    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class CourseContent:
    """Title, description and modules of a draft or a published version."""

    title: str
    description: str
    modules: tuple[Module, ...]

    def check(self) -> None:
        """Raise ``InvalidCourseContent`` unless every id is unique and every question valid."""
        if not self.title.strip():
            raise InvalidCourseContent("a course needs a title")
        ids: list[UUID] = []
        for module in self.modules:
            ids.append(module.module_id)
            for question in module.questions:
                question.check()
                ids.append(question.question_id)
                ids.extend(option.option_id for option in question.options)
        if len(set(ids)) != len(ids):
            raise InvalidCourseContent("module, question and option ids must be unique")

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for module in self.modules for q in module.questions)

    @property
    def required_question_ids(self) -> frozenset[UUID]:
        return frozenset(q.question_id for q in self.questions if q.required)

    def question(self, question_id: UUID) -> Question | None:
        return next((q for q in self.questions if q.question_id == question_id), None)


@dataclass(frozen=True)
class AnswerValue:
    """What a learner gives: option ids, a scale value or text (exactly one, by kind)."""

    selected_option_ids: tuple[UUID, ...] | None = None
    scale_value: int | None = None
    free_text: str | None = None
