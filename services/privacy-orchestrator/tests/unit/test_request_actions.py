"""Operator actions and time-outs on the request (R13, DESIGN §5): a late participant's command
sent again then escalated (never completed silently), a sub-processor request closed with a
reason (the request then ends partially), a hold that keeps a request from completing without
moving its deadline, and what each change publishes for the dashboard; replaying a history
with these events gives the same request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy_orchestrator.domain.errors import NotInProgress, RequestRuleBroken
from privacy_orchestrator.domain.records import ActorRole
from privacy_orchestrator.domain.request import DataSubjectRequest, RequestState
from privacy_orchestrator.service_layer.request_status import StatusChange, change_of

from .test_request import HEIHALLO, OTHER_SP, PARTICIPANTS, T0, actor, ask, confirm, issue, reply
from .test_request import new_request as _new_request

STAFF = ActorRole.PLATFORM_STAFF


def started() -> DataSubjectRequest:
    request = _new_request()
    issue(request)
    ask(request, HEIHALLO)
    return request


def test_a_late_participant_is_sent_its_command_again_then_escalated() -> None:
    request = started()
    first = request.issued["courses"]
    assert request.waiting_participants() == sorted(PARTICIPANTS)
    assert request.unanswered_since("courses") == T0

    again = request.resend_command("courses", T0 + timedelta(hours=72))
    assert again == first  # the same command: the same CloudEvent id
    assert request.resends == {"courses": 1}
    assert request.unanswered_since("courses") == T0 + timedelta(hours=72)

    request.escalate_participant("courses", T0 + timedelta(hours=144))
    assert request.escalated
    assert "courses" not in request.waiting_participants()
    with pytest.raises(RequestRuleBroken):
        request.resend_command("courses", T0 + timedelta(hours=150))

    # Everyone else answers: the request still does not complete without courses' reply.
    for name in ("identity", "consent"):
        reply(request, name)
    confirm(request, HEIHALLO)
    assert not request.can_complete
    with pytest.raises(NotInProgress):
        request.complete(T0)
    # A late reply is still recorded, and completes it.
    assert reply(request, "courses")
    assert request.can_complete
    request.complete(T0 + timedelta(days=7))
    assert request.state is RequestState.COMPLETED


def test_a_participant_that_replied_is_not_chased() -> None:
    request = started()
    reply(request, "identity")
    with pytest.raises(RequestRuleBroken):
        request.resend_command("identity", T0)
    with pytest.raises(RequestRuleBroken):
        request.escalate_participant("identity", T0)


def test_a_closed_sub_processor_lets_it_complete_partially_with_the_reason() -> None:
    request = started()
    for name in PARTICIPANTS:
        reply(request, name)
    assert not request.can_complete
    request.close_sub_processor(HEIHALLO, actor(STAFF), "  Leverandøren  er avviklet.  ")
    assert request.closed[HEIHALLO].reason == "Leverandøren er avviklet."
    assert request.can_complete
    request.complete(T0 + timedelta(days=1))
    assert request.state is RequestState.PARTIALLY_COMPLETED


def test_only_an_unanswered_sub_processor_is_closed_or_resent() -> None:
    request = started()
    with pytest.raises(RequestRuleBroken):
        request.close_sub_processor(OTHER_SP, actor(STAFF), "never asked")
    with pytest.raises(RequestRuleBroken):
        request.close_sub_processor(HEIHALLO, actor(STAFF), "   ")
    with pytest.raises(RequestRuleBroken):
        request.close_sub_processor(HEIHALLO, actor(STAFF), "x" * 501)
    request.resend_sub_processor(HEIHALLO, actor(STAFF))
    confirm(request, HEIHALLO)
    with pytest.raises(RequestRuleBroken):
        request.close_sub_processor(HEIHALLO, actor(STAFF), "too late")
    with pytest.raises(RequestRuleBroken):
        request.resend_sub_processor(HEIHALLO, actor(STAFF))


def test_a_held_request_records_answers_but_completes_only_when_released() -> None:
    request = started()
    deadline = request.deadline
    request.put_on_hold(actor(STAFF), "Venter på avklaring fra kunden.")
    assert request.state is RequestState.ON_HOLD
    assert request.hold is not None
    for name in PARTICIPANTS:
        assert reply(request, name)
    assert confirm(request, HEIHALLO)
    assert request.all_answered
    assert not request.can_complete
    with pytest.raises(NotInProgress):
        request.complete(T0)
    # Held: not chased, not held twice; the deadline did not move (art. 12(3)).
    with pytest.raises(NotInProgress):
        request.put_on_hold(actor(STAFF), "again")
    assert request.deadline == deadline
    request.release(actor(STAFF))
    assert request.state is RequestState.IN_PROGRESS
    assert request.hold is None
    assert request.can_complete
    with pytest.raises(NotInProgress):
        request.release(actor(STAFF))


def test_only_an_in_progress_request_is_held() -> None:
    waiting = _new_request(ActorRole.CONTACT_PERSON)
    with pytest.raises(NotInProgress):
        waiting.put_on_hold(actor(STAFF), "why")


def test_each_change_publishes_by_its_last_event_and_answers_alone_publish_nothing() -> None:
    request = _new_request()
    status = change_of(request.pending)
    assert status is not None
    assert (status.change, status.first) == ("approved", True)
    issue(request)
    ask(request, HEIHALLO)
    # Filed: one event, the last change, on a new stream.
    assert change_of(request.pending) == StatusChange("in_progress", first=True)
    request.pending.clear()
    reply(request, "identity")
    confirm(request, HEIHALLO)
    request.resend_command("courses", T0)
    assert _change(request) is None
    request.pending.clear()
    request.escalate_participant("courses", T0)
    assert _change(request) == "participant_escalated"
    request.pending.clear()
    request.put_on_hold(actor(STAFF), "why")
    assert _change(request) == "put_on_hold"
    request.pending.clear()
    request.extend_deadline(actor(STAFF), months=1, reason="complexity")
    request.note_notice("deadline_extended", "mail-1", T0)
    assert _change(request) == "deadline_extended"


def _change(request: DataSubjectRequest) -> str | None:
    status = change_of(request.pending)
    assert status is None or not status.first
    return None if status is None else status.change


STEPS = st.lists(
    st.sampled_from(
        [
            "resend-courses",
            "escalate-courses",
            "hold",
            "release",
            "close-heihallo",
            "resend-heihallo",
            "confirm-heihallo",
            "notify",
            *PARTICIPANTS,
            "complete",
        ]
    ),
    max_size=14,
)


@settings(max_examples=200, deadline=None)
@given(steps=STEPS)
def test_replaying_any_history_of_actions_gives_the_same_request(steps: list[str]) -> None:
    request = started()
    at = T0 + timedelta(hours=80)
    for step in steps:
        try:
            match step:
                case "resend-courses":
                    request.resend_command("courses", at)
                case "escalate-courses":
                    request.escalate_participant("courses", at)
                case "hold":
                    request.put_on_hold(actor(STAFF), "why")
                case "release":
                    request.release(actor(STAFF))
                case "close-heihallo":
                    request.close_sub_processor(HEIHALLO, actor(STAFF), "gone")
                case "resend-heihallo":
                    request.resend_sub_processor(HEIHALLO, actor(STAFF))
                case "confirm-heihallo":
                    confirm(request, HEIHALLO)
                case "notify":
                    request.note_notice("deadline_extended", "mail-1", at)
                case "complete":
                    request.complete(at)
                case participant:
                    reply(request, participant)
        except RequestRuleBroken:
            pass
    replayed = DataSubjectRequest.replay(request.pending)
    for name in (
        "state",
        "version",
        "resends",
        "last_sent",
        "escalated_participants",
        "closed",
        "hold",
        "notified",
        "replies",
        "confirmations",
        "completed_at",
    ):
        assert getattr(replayed, name) == getattr(request, name), name
