"""The organisation export's progress rule and document shape (art. 28(3)(g)), without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

from privacy_orchestrator.service_layer.organisation_exports import (
    ExportProgress,
    organisation_document,
)

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def progress(*, filed: int, complete: bool, completed: int) -> ExportProgress:
    return ExportProgress(
        organisation_id=uuid4(),
        requested_at=AT,
        offer_until=AT,
        requests_filed=filed,
        filing_complete=complete,
        completed=completed,
    )


def test_ready_only_when_every_request_is_filed_and_completed() -> None:
    assert progress(filed=3, complete=True, completed=3).ready
    assert not progress(filed=3, complete=True, completed=2).ready
    # Filing cut short: the completed ones are not the whole organisation yet.
    assert not progress(filed=2, complete=False, completed=2).ready


def test_the_document_names_the_organisation_and_holds_each_person() -> None:
    organisation = uuid4()
    person = {"format": "byggrygg.access-export.v1", "subject_ref": "subj_a"}
    gone = {"request_id": str(uuid4()), "subject_ref": "subj_b"}
    document = organisation_document(organisation, date(2026, 11, 1), AT, AT, [person], [gone])
    assert document == {
        "format": "byggrygg.organisation-export.v1",
        "organisation_id": str(organisation),
        "contract_ended_on": "2026-11-01",
        "offer_until": "2026-11-25T12:00:00Z",
        "generated_at": "2026-11-25T12:00:00Z",
        "persons": [person],
        "unavailable": [gone],
    }
