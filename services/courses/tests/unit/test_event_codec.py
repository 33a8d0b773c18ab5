"""The event codec: free text leaves as a key-ring token, choice and scale values as values;
what is stored decodes to the same domain events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

from byggrygg_shared.contracts import courses as contracts
from byggrygg_shared.eventstore import StoredEvent
from byggrygg_shared.keyring import Erased
from courses.adapters.event_codec import (
    content_document,
    content_from_document,
    decode_course_event,
    encode_course_event,
    encode_enrolment_event,
)
from courses.domain.content import AnswerValue, CourseContent, QuestionKind
from courses.domain.course import Course
from courses.domain.enrolment import Enrolment


class FakeCipher:
    """Reversible stand-in for the key ring, marking what it sealed and for whom."""

    async def encrypt(self, subject_ref: str, plaintext: str) -> str:
        return f"enc:v1:{subject_ref}:{plaintext[::-1]}"

    async def decrypt(self, subject_ref: str, token: str) -> str | Erased:
        return token.rsplit(":", 1)[1][::-1]


def answer_event(kind: QuestionKind, answer: AnswerValue) -> Enrolment.AnswerSubmitted:
    return Enrolment.AnswerSubmitted(
        enrolment_id=uuid4(),
        course_id=uuid4(),
        course_version=1,
        question_id=uuid4(),
        kind=kind,
        subject_ref="subj_" + "d" * 32,
        organisation_id=uuid4(),
        answer=answer,
    )


async def test_free_text_is_sealed_under_the_learner_s_subject_ref() -> None:
    event = answer_event(QuestionKind.FREE_TEXT, AnswerValue(free_text="hemmelig"))
    contract = await encode_enrolment_event(event, FakeCipher())
    assert isinstance(contract, contracts.AnswerSubmitted)
    assert contract.free_text == f"enc:v1:{event.subject_ref}:" + "hemmelig"[::-1]
    assert "hemmelig" not in contract.model_dump_json()
    assert contract.selected_option_ids is None
    assert contract.scale_value is None


async def test_choice_and_scale_values_travel_as_values() -> None:
    option = uuid4()
    choice = await encode_enrolment_event(
        answer_event(QuestionKind.SINGLE_CHOICE, AnswerValue(selected_option_ids=(option,))),
        FakeCipher(),
    )
    scale = await encode_enrolment_event(
        answer_event(QuestionKind.SCALE, AnswerValue(scale_value=4)), FakeCipher()
    )
    assert isinstance(choice, contracts.AnswerSubmitted)
    assert isinstance(scale, contracts.AnswerSubmitted)
    assert choice.selected_option_ids == [option]
    assert scale.scale_value == 4
    assert choice.free_text is None


def test_content_round_trips_through_the_contract_and_the_document(
    make_content: Callable[..., CourseContent],
) -> None:
    content = make_content()
    assert content_from_document(content_document(content)) == content
    published = Course.Published(
        course_id=uuid4(), version=3, content=content, published_by="staff"
    )
    contract = encode_course_event(published)
    stored = StoredEvent(
        global_position=1,
        stream_id=f"course-{published.course_id}",
        version=1,
        event_type=contract.event_type,
        event_version=contract.event_version,
        payload=contract.model_dump(mode="json"),
        metadata={},
        recorded_at=datetime.now(UTC),
        published_at=None,
    )
    assert decode_course_event(stored) == published
