"""The rules of automatic erasures (R2, R6) and of a contract end's export offer
(art. 28(3)(g)), and the trigger's code in the completion record (R19)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from privacy_orchestrator.domain import records
from privacy_orchestrator.domain.records import ActorRole, RequestKind, completion_document
from privacy_orchestrator.domain.request import (
    Actor,
    DataSubjectRequest,
    IssuedCommand,
    RecordedEvidence,
    RequestState,
)
from privacy_orchestrator.domain.triggers import (
    ContractEndState,
    ExportOfferClosed,
    Trigger,
    complaint_hold_categories,
    complaint_hold_id,
    contract_subject_trigger,
    offer_until,
    require_offer_open,
)
from privacy_orchestrator.service_layer.requests import completion_content

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_the_offer_runs_its_days_from_the_end_or_from_when_it_was_learned() -> None:
    ended = date(2026, 11, 2)
    # Learned the day it ended: 30 days from then.
    assert offer_until(ended_on=ended, recorded_at=T0, days=30) == T0 + timedelta(days=30)
    # Learned a week late: the controller still gets the whole period.
    late = T0 + timedelta(days=7)
    assert offer_until(ended_on=ended, recorded_at=late, days=30) == late + timedelta(days=30)
    # A contract that ends in the future: counted from its end.
    assert offer_until(ended_on=date(2027, 1, 1), recorded_at=T0, days=0) == datetime(
        2027, 1, 1, tzinfo=UTC
    )


def test_the_offer_can_be_declined_only_while_it_runs() -> None:
    until = T0 + timedelta(days=30)
    require_offer_open(ContractEndState.EXPORT_OFFERED, until, T0)
    with pytest.raises(ExportOfferClosed):
        require_offer_open(ContractEndState.EXPORT_OFFERED, until, until)
    for state in (ContractEndState.ERASING, ContractEndState.ERASURE_FILED):
        with pytest.raises(ExportOfferClosed):
            require_offer_open(state, until, T0)


def test_a_subjects_trigger_id_is_the_same_every_time_and_differs_per_subject() -> None:
    contract_end = uuid4()
    one, other = "subj_" + "a" * 32, "subj_" + "b" * 32
    assert contract_subject_trigger(contract_end, one) == contract_subject_trigger(
        contract_end, one
    )
    assert contract_subject_trigger(contract_end, one) != contract_subject_trigger(
        contract_end, other
    )
    assert contract_subject_trigger(contract_end, one) != contract_subject_trigger(uuid4(), one)


@pytest.mark.parametrize("trigger", list(Trigger))
def test_an_automatic_erasure_names_its_trigger_in_the_completion_record(
    trigger: Trigger,
) -> None:
    organisation = uuid4()
    request = DataSubjectRequest.receive(
        request_id=uuid4(),
        kind=RequestKind.ERASURE,
        subject_ref="subj_" + uuid4().hex,
        organisation_id=organisation,
        requested_by=Actor(
            role=ActorRole.AUTOMATIC,
            account=None,
            organisation_id=organisation,
            at=T0,
            trigger=trigger.value,
        ),
    )
    assert request.state is RequestState.APPROVED  # nobody has to approve it
    request.issue(
        [IssuedCommand(participant="identity", command="erase", event_id=uuid4())], [], T0
    )
    request.record_reply(
        participant="identity",
        command="erase",
        outcome="completed",
        evidence=[
            RecordedEvidence(
                location="table users", action="erased", count=1, basis=None, keep_until=None
            )
        ],
        replied_at=T0 + timedelta(seconds=1),
    )
    request.complete(T0 + timedelta(seconds=2))

    document = completion_document(completion_content(request), sequence=1, prev_hash="0" * 64)
    assert document["requested_by"] == {
        "role": "automatic",
        "at": "2026-11-02T09:30:00.000000Z",
        "organisation_id": str(organisation),
        "trigger": trigger.value,
    }
    assert document["approved_by"]["trigger"] == trigger.value


def test_an_automatic_actor_without_a_trigger_makes_no_record() -> None:
    with pytest.raises(records.InvalidRecord):
        records.Actor(role=ActorRole.AUTOMATIC, at=T0).document("requested_by")


def test_a_complaint_holds_only_what_other_services_must_keep() -> None:
    assert complaint_hold_categories(["course_answers"]) == ["content"]
    assert complaint_hold_categories(["profile", "course_answers", "profile"]) == [
        "content",
        "profile",
    ]
    # Consent keeps its own areas under an open complaint; an organisation is not a person.
    assert complaint_hold_categories(["correspondence", "newsletter", "cookie_consent"]) == []
    assert complaint_hold_categories(["organisation"]) == []
    complaint = uuid4()
    assert (
        complaint_hold_id(complaint) == complaint_hold_id(complaint) != complaint_hold_id(uuid4())
    )
