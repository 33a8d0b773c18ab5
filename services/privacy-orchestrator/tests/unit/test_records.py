"""A completion record's content: its rules, and no personal data in it (R19)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from privacy_orchestrator.domain.canonical import GENESIS_HASH
from privacy_orchestrator.domain.errors import InvalidRecord, PersonalDataInRecord
from privacy_orchestrator.domain.records import (
    Actor,
    ActorRole,
    Evidence,
    EvidenceAction,
    Notice,
    Outcome,
    RecordContent,
    completion_document,
)

MakeContent = Callable[..., RecordContent]


def document(content: RecordContent) -> dict[str, Any]:
    return completion_document(content, sequence=1, prev_hash=GENESIS_HASH)


def test_the_document_says_what_was_asked_who_approved_and_what_everyone_did(
    make_content: MakeContent,
) -> None:
    content = make_content()
    doc = document(content)
    assert doc["format"] == "byggrygg.completion-record.v1"
    assert doc["sequence"] == 1
    assert doc["prev_hash"] == GENESIS_HASH
    assert doc["request"]["request_id"] == str(content.request_id)
    assert doc["request"]["kind"] == "erasure"
    assert doc["requested_by"]["role"] == "data_subject"
    assert doc["approved_by"]["role"] == "contact_person"
    assert [p["participant"] for p in doc["participants"]] == ["identity", "consent"]
    assert doc["participants"][1]["evidence"][0] == {
        "location": "table correspondence.body",
        "action": "kept",
        "count": 2,
        "basis": "open_complaint",
        "keep_until": None,
    }
    assert doc["sub_processors"][0]["organisation_number"] == "992797010"
    assert doc["kept"][0]["basis"] == "open_complaint"
    assert doc["notices"][0]["reference"] == "mail-7f1e2a"
    assert doc["completed_at"] == "2026-11-02T12:30:00.000000Z"
    assert "subject_ref" not in str(doc)


@pytest.mark.parametrize(
    "changes",
    [
        {"reason": "subj_0123456789abcdef0123456789abcdef"},
        {"reason": "held for kari.nordmann@example.no"},
        {"notices": (Notice("kept_data_notice", datetime.now().astimezone(), "a@b.no"),)},
    ],
)
def test_anything_that_looks_like_personal_data_is_refused(
    make_content: MakeContent, changes: dict[str, Any]
) -> None:
    with pytest.raises(PersonalDataInRecord) as refused:
        document(make_content(**changes))
    assert "@" not in str(refused.value)
    assert "subj_" not in str(refused.value)


def test_a_time_without_time_zone_is_refused(make_content: MakeContent) -> None:
    with pytest.raises(InvalidRecord, match="completed_at"):
        document(make_content(completed_at=datetime(2026, 11, 2, 12, 0)))


def test_kept_evidence_needs_a_basis(make_content: MakeContent) -> None:
    content = make_content()
    report = content.participants[0]
    bad = type(report)(
        participant=report.participant,
        command=report.command,
        outcome=report.outcome,
        sent_at=report.sent_at,
        replied_at=report.replied_at,
        evidence=(Evidence("table users.email", EvidenceAction.KEPT, 1),),
    )
    with pytest.raises(InvalidRecord, match="basis"):
        document(make_content(participants=(bad,)))


def test_negative_counts_are_refused(make_content: MakeContent) -> None:
    content = make_content()
    report = content.participants[0]
    bad = type(report)(
        participant=report.participant,
        command=report.command,
        outcome=report.outcome,
        sent_at=report.sent_at,
        replied_at=report.replied_at,
        evidence=(Evidence("table users.email", EvidenceAction.ERASED, -1),),
    )
    with pytest.raises(InvalidRecord, match="negative"):
        document(make_content(participants=(bad,)))


def test_automatic_requests_name_their_trigger_and_only_they_do(make_content: MakeContent) -> None:
    at = make_content().received_at
    automatic = Actor(ActorRole.AUTOMATIC, at=at, trigger="LicenceRevoked")
    assert document(make_content(requested_by=automatic))["requested_by"]["trigger"] == (
        "LicenceRevoked"
    )
    with pytest.raises(InvalidRecord, match="trigger"):
        document(make_content(requested_by=Actor(ActorRole.AUTOMATIC, at=at)))
    with pytest.raises(InvalidRecord, match="trigger"):
        document(make_content(requested_by=Actor(ActorRole.PLATFORM_STAFF, at=at, trigger="x")))


def test_a_carried_out_request_names_its_participants(make_content: MakeContent) -> None:
    with pytest.raises(InvalidRecord):
        document(make_content(participants=(), outcome=Outcome.COMPLETED))
    rejected = document(make_content(participants=(), outcome=Outcome.REJECTED, reason="no_id"))
    assert rejected["outcome"] == "rejected"


def test_a_request_cannot_end_failed(make_content: MakeContent) -> None:
    with pytest.raises(InvalidRecord):
        document(make_content(outcome=Outcome.FAILED))


def test_sequence_numbers_start_at_one(make_content: MakeContent) -> None:
    with pytest.raises(InvalidRecord):
        completion_document(make_content(), sequence=0, prev_hash=GENESIS_HASH)


def test_times_are_written_in_utc(make_content: MakeContent) -> None:
    content = make_content()
    oslo = content.received_at.astimezone(timezone(timedelta(hours=1)))
    assert (
        document(make_content(received_at=oslo))["request"]["received_at"]
        == (document(content)["request"]["received_at"])
    )
