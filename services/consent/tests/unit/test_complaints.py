"""The Complaint aggregate (R21): questions, complaints and the holds they place."""

from __future__ import annotations

from uuid import uuid4

import pytest

from consent.domain.complaints import (
    Complaint,
    ComplaintAlreadyResolved,
    ComplaintKind,
    ComplaintStatus,
    DataArea,
    NoConcernedData,
    Outcome,
    OutcomeRequired,
)


def open_complaint(
    kind: ComplaintKind = ComplaintKind.COMPLAINT,
    concerns: tuple[DataArea, ...] = (DataArea.CORRESPONDENCE, DataArea.CORRESPONDENCE),
) -> Complaint:
    return Complaint.open(
        complaint_id=uuid4(),
        kind=kind,
        organisation_id=uuid4(),
        subject_ref="subj_x",
        key_ref="cmpl_x",
        summary="  Misfornøyd med svar. ",
        concerns=concerns,
        opened_by="staff-1",
    )


def test_an_open_complaint_holds_the_data_it_concerns_until_resolved() -> None:
    complaint = open_complaint()
    assert complaint.concerns == (DataArea.CORRESPONDENCE,)
    assert complaint.summary == "Misfornøyd med svar."
    assert complaint.holds(DataArea.CORRESPONDENCE)
    assert not complaint.holds(DataArea.NEWSLETTER)
    complaint.resolve(outcome=Outcome.UPHELD, resolution_text="Beklager.", resolved_by="s")
    assert complaint.status is ComplaintStatus.RESOLVED
    assert not complaint.holds(DataArea.CORRESPONDENCE)
    with pytest.raises(ComplaintAlreadyResolved):
        complaint.resolve(outcome=Outcome.REJECTED, resolution_text="x", resolved_by="s")


def test_a_question_holds_nothing_and_is_answered_without_outcome() -> None:
    question = open_complaint(ComplaintKind.QUESTION, concerns=())
    assert not question.holds(DataArea.CORRESPONDENCE)
    question.resolve(outcome=Outcome.UPHELD, resolution_text="Svar.", resolved_by="s")
    assert question.outcome is None


def test_a_complaint_names_its_data_and_is_resolved_with_an_outcome() -> None:
    with pytest.raises(NoConcernedData):
        open_complaint(concerns=())
    complaint = open_complaint()
    with pytest.raises(OutcomeRequired):
        complaint.resolve(outcome=None, resolution_text="x", resolved_by="s")
    assert complaint.status is ComplaintStatus.OPEN


def test_replay_gives_the_same_state() -> None:
    complaint = open_complaint()
    complaint.resolve(outcome=Outcome.WITHDRAWN, resolution_text="Trukket.", resolved_by="s")
    replayed = Complaint.replay(complaint.pending)
    assert replayed.status is ComplaintStatus.RESOLVED
    assert replayed.outcome is Outcome.WITHDRAWN
    assert replayed.resolution_text == "Trukket."
