"""The Complaint aggregate (R21): a person's question or complaint, recorded by staff.

A *complaint* places a hold on the data areas it concerns (``concerns``) until it is resolved
(R9, R21); a *question* is recorded and answered but holds nothing. In consent, a hold on the
``correspondence`` area keeps every correspondence item of the person from deletion and from
the retention purge. The summary and the resolution text are personal data: the adapters
encrypt them under the complaint's own key scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never
from uuid import UUID

from byggrygg_shared.aggregate import Aggregate
from consent.domain.errors import ConsentError


class ComplaintError(ConsentError):
    """Base of the complaint rules' violations."""


class ComplaintAlreadyResolved(ComplaintError):
    """The complaint or question was resolved already."""


class OutcomeRequired(ComplaintError):
    """A complaint is resolved with an outcome (upheld, rejected, withdrawn)."""


class NoConcernedData(ComplaintError):
    """A complaint must name at least one data area it concerns (what the hold covers)."""


class ComplaintKind(StrEnum):
    QUESTION = "question"
    COMPLAINT = "complaint"


class ComplaintStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Outcome(StrEnum):
    UPHELD = "upheld"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class DataArea(StrEnum):
    """The areas of a person's data a complaint can concern; each service holds its own."""

    CORRESPONDENCE = "correspondence"
    NEWSLETTER = "newsletter"
    COOKIE_CONSENT = "cookie_consent"
    COURSE_ANSWERS = "course_answers"
    PROFILE = "profile"
    ORGANISATION = "organisation"


class Complaint(Aggregate["ComplaintEvent"]):
    """A question or complaint; the stream id is ``complaint-<id>``."""

    @dataclass(frozen=True)
    class Opened:
        complaint_id: UUID
        kind: ComplaintKind
        organisation_id: UUID | None
        subject_ref: str
        key_ref: str
        summary: str
        concerns: tuple[DataArea, ...]
        opened_by: str

    @dataclass(frozen=True)
    class Resolved:
        complaint_id: UUID
        kind: ComplaintKind
        organisation_id: UUID | None
        subject_ref: str
        key_ref: str
        outcome: Outcome | None
        resolution_text: str
        resolved_by: str

    id: UUID
    kind: ComplaintKind
    organisation_id: UUID | None
    subject_ref: str
    key_ref: str
    summary: str
    concerns: tuple[DataArea, ...]
    status: ComplaintStatus
    outcome: Outcome | None
    resolution_text: str | None

    @classmethod
    def open(
        cls,
        *,
        complaint_id: UUID,
        kind: ComplaintKind,
        organisation_id: UUID | None,
        subject_ref: str,
        key_ref: str,
        summary: str,
        concerns: Iterable[DataArea],
        opened_by: str,
    ) -> Complaint:
        """Record a question or open a complaint (R21; a complaint holds ``concerns``)."""
        areas = tuple(sorted(set(concerns)))
        if kind is ComplaintKind.COMPLAINT and not areas:
            raise NoConcernedData("a complaint names the data it concerns")
        complaint = cls._blank()
        complaint._raise(
            cls.Opened(
                complaint_id=complaint_id,
                kind=kind,
                organisation_id=organisation_id,
                subject_ref=subject_ref,
                key_ref=key_ref,
                summary=summary.strip(),
                concerns=areas,
                opened_by=opened_by,
            )
        )
        return complaint

    def resolve(self, *, outcome: Outcome | None, resolution_text: str, resolved_by: str) -> None:
        """Resolve the complaint (its hold is released) or answer the question."""
        if self.status is ComplaintStatus.RESOLVED:
            raise ComplaintAlreadyResolved("already resolved")
        if self.kind is ComplaintKind.COMPLAINT and outcome is None:
            raise OutcomeRequired("a complaint is resolved with an outcome")
        self._raise(
            self.Resolved(
                complaint_id=self.id,
                kind=self.kind,
                organisation_id=self.organisation_id,
                subject_ref=self.subject_ref,
                key_ref=self.key_ref,
                # A question is answered, not upheld or rejected.
                outcome=outcome if self.kind is ComplaintKind.COMPLAINT else None,
                resolution_text=resolution_text.strip(),
                resolved_by=resolved_by,
            )
        )

    def holds(self, area: DataArea) -> bool:
        """Whether this places a hold on ``area`` of the person's data now (R21)."""
        return (
            self.kind is ComplaintKind.COMPLAINT
            and self.status is ComplaintStatus.OPEN
            and area in self.concerns
        )

    def _apply(self, event: ComplaintEvent) -> None:
        match event:
            case Complaint.Opened():
                self.id = event.complaint_id
                self.kind = event.kind
                self.organisation_id = event.organisation_id
                self.subject_ref = event.subject_ref
                self.key_ref = event.key_ref
                self.summary = event.summary
                self.concerns = event.concerns
                self.status = ComplaintStatus.OPEN
                self.outcome = None
                self.resolution_text = None
            case Complaint.Resolved():
                self.status = ComplaintStatus.RESOLVED
                self.outcome = event.outcome
                self.resolution_text = event.resolution_text
            case _:
                assert_never(event)


ComplaintEvent = Complaint.Opened | Complaint.Resolved
