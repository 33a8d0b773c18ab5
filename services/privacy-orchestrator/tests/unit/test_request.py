"""The data-subject request's state machine (DESIGN §5): intake per role, decisions, fan-out,
replies, completion, the one-month deadline; replaying any history gives the same request."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy_orchestrator.domain.errors import (
    NotAwaitingDecision,
    NotInProgress,
    UnexpectedReply,
)
from privacy_orchestrator.domain.records import ActorRole, RequestKind
from privacy_orchestrator.domain.request import (
    Actor,
    DataSubjectRequest,
    IssuedCommand,
    RecordedEvidence,
    RequestState,
    decode_request_event,
    one_month_after,
)

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
SUBJECT = "subj_" + "a" * 32
ORG = UUID("00000000-0000-4000-8000-000000000001")
PARTICIPANTS = ("identity", "courses", "consent")


def actor(role: ActorRole, at: datetime = T0) -> Actor:
    org = ORG if role is ActorRole.CONTACT_PERSON else None
    return Actor(role=role, account=str(uuid4()), organisation_id=org, at=at)


def new_request(role: ActorRole = ActorRole.DATA_SUBJECT) -> DataSubjectRequest:
    return DataSubjectRequest.receive(
        request_id=uuid4(),
        kind=RequestKind.ERASURE,
        subject_ref=SUBJECT,
        organisation_id=ORG,
        requested_by=actor(role),
    )


def issue(request: DataSubjectRequest, participants: tuple[str, ...] = PARTICIPANTS) -> None:
    request.issue(
        [IssuedCommand(participant=p, command="erase", event_id=uuid4()) for p in participants],
        [],
        T0,
    )


def reply(request: DataSubjectRequest, participant: str, *, kept: bool = False) -> bool:
    evidence = [RecordedEvidence(location="column users.email", action="erased", count=1,
                                 basis=None, keep_until=None)]  # fmt: skip
    if kept:
        evidence.append(
            RecordedEvidence(
                location="column answers.text",
                action="kept",
                count=2,
                basis="open_complaint",
                keep_until=None,
            )
        )
    return request.record_reply(
        participant=participant,
        command="erase",
        outcome="partially_completed" if kept else "completed",
        evidence=evidence,
        replied_at=T0 + timedelta(seconds=1),
    )


def test_a_persons_own_request_is_approved_at_once() -> None:
    request = new_request(ActorRole.DATA_SUBJECT)
    assert request.state is RequestState.APPROVED
    assert [type(e).__name__ for e in request.pending] == ["RequestReceived", "RequestApproved"]


def test_a_forwarded_request_waits_for_its_controller() -> None:
    request = new_request(ActorRole.CONTACT_PERSON)
    assert request.state is RequestState.AWAITING_CONTROLLER
    with pytest.raises(NotInProgress):
        issue(request)
    request.approve(actor(ActorRole.CONTACT_PERSON))
    assert request.state is RequestState.APPROVED
    with pytest.raises(NotAwaitingDecision):
        request.reject(actor(ActorRole.CONTACT_PERSON), "excessive")


def test_a_rejected_request_ends_with_its_reason() -> None:
    request = new_request(ActorRole.CONTACT_PERSON)
    request.reject(actor(ActorRole.CONTACT_PERSON), "not_an_employee")
    assert request.state is RequestState.REJECTED
    assert request.reason == "not_an_employee"
    with pytest.raises(NotAwaitingDecision):
        request.approve(actor(ActorRole.CONTACT_PERSON))


def test_every_reply_completes_it_and_a_redelivery_changes_nothing() -> None:
    request = new_request()
    issue(request)
    assert request.state is RequestState.IN_PROGRESS
    assert reply(request, "identity")
    assert not reply(request, "identity")  # the same participant again
    assert not request.all_replied
    with pytest.raises(NotInProgress):
        request.complete(T0)
    reply(request, "courses")
    reply(request, "consent")
    request.complete(T0 + timedelta(seconds=2))
    assert request.state is RequestState.COMPLETED


def test_kept_data_makes_it_partially_completed() -> None:
    request = new_request()
    issue(request)
    reply(request, "identity")
    reply(request, "courses", kept=True)
    reply(request, "consent")
    request.complete(T0)
    assert request.state is RequestState.PARTIALLY_COMPLETED


def test_a_reply_nobody_asked_for_is_refused() -> None:
    request = new_request()
    issue(request, ("identity",))
    with pytest.raises(UnexpectedReply):
        reply(request, "consent")
    with pytest.raises(UnexpectedReply):
        request.record_reply(
            participant="identity",
            command="export",
            outcome="completed",
            evidence=[],
            replied_at=T0,
        )


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        (datetime(2026, 1, 31, 23, 0, tzinfo=UTC), date(2026, 2, 28)),
        (datetime(2026, 3, 15, tzinfo=UTC), date(2026, 4, 15)),
        (datetime(2026, 12, 10, tzinfo=UTC), date(2027, 1, 10)),
        (datetime(2028, 1, 30, tzinfo=UTC), date(2028, 2, 29)),
    ],
)
def test_the_deadline_is_one_month_after_receipt(received: datetime, deadline: date) -> None:
    assert one_month_after(received) == deadline


def test_overdue_only_while_open_and_past_the_deadline() -> None:
    request = new_request()
    assert not request.overdue(request.deadline)
    assert request.overdue(request.deadline + timedelta(days=1))
    issue(request)
    for participant in PARTICIPANTS:
        reply(request, participant)
    request.complete(T0)
    assert not request.overdue(request.deadline + timedelta(days=1))


STEPS = st.lists(
    st.sampled_from(["approve", "reject", "issue", "identity", "courses", "consent", "complete"]),
    max_size=12,
)


def _state(request: DataSubjectRequest) -> dict[str, object]:
    return {
        "state": request.state,
        "version": request.version,
        "issued": sorted(request.issued),
        "replies": sorted(request.replies),
        "reason": request.reason,
        "completed_at": request.completed_at,
        "deadline": request.deadline,
    }


@settings(max_examples=200, deadline=None)
@given(forwarded=st.booleans(), kept=st.booleans(), steps=STEPS)
def test_replaying_any_history_gives_the_same_request(
    forwarded: bool, kept: bool, steps: list[str]
) -> None:
    request = new_request(ActorRole.CONTACT_PERSON if forwarded else ActorRole.DATA_SUBJECT)
    for step in steps:
        try:
            match step:
                case "approve":
                    request.approve(actor(ActorRole.CONTACT_PERSON))
                case "reject":
                    request.reject(actor(ActorRole.CONTACT_PERSON), "excessive")
                case "issue":
                    issue(request)
                case "complete":
                    request.complete(T0)
                case participant:
                    reply(request, participant, kept=kept)
        except (NotAwaitingDecision, NotInProgress, UnexpectedReply):
            pass
    history = [
        decode_request_event(type(e).event_type, e.model_dump(mode="json")) for e in request.pending
    ]
    assert _state(DataSubjectRequest.replay(history)) == _state(request)
