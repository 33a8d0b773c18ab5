"""The CorrespondenceDeletion aggregate (R10): a person's request to delete all their
correspondence, how it was processed, and the notices that told them what was kept and why.

A request is processed at once: what no hold protects is deleted, the rest is kept with a
recorded reason and the person is told by e-mail. While something is kept the request stays
*pending*; when a hold is released (a complaint resolved) it is processed again, and it is
*completed* once nothing is kept any more. A notice goes out whenever what is kept changes:
first to say what is kept and why, finally to say that the kept items are now deleted too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never
from uuid import UUID

from byggrygg_shared.aggregate import Aggregate
from consent.domain.correspondence import CorrespondenceError, KeptItem, KeptReason


class DeletionAlreadyCompleted(CorrespondenceError):
    """The request was completed; nothing of it is left to process."""


class NoticeRequired(CorrespondenceError):
    """What is kept changed, so the person must be told: a notice id is needed."""


class DeletionStatus(StrEnum):
    RECEIVED = "received"
    PENDING = "pending"  # processed, but items are kept under a hold that may be released
    COMPLETED = "completed"


class CorrespondenceDeletion(Aggregate["DeletionEvent"]):
    """One deletion request; the stream id is ``correspondence-deletion-<id>``."""

    @dataclass(frozen=True)
    class Requested:
        request_id: UUID
        subject_ref: str
        key_ref: str
        notify_address: str
        requested_by: str

    @dataclass(frozen=True)
    class Processed:
        request_id: UUID
        subject_ref: str
        deleted_count: int
        kept: tuple[KeptItem, ...]
        final: bool

    @dataclass(frozen=True)
    class NoticeSent:
        request_id: UUID
        subject_ref: str
        notice_id: UUID
        kept_count: int
        reasons: tuple[KeptReason, ...]

    id: UUID
    subject_ref: str
    key_ref: str
    notify_address: str
    requested_by: str
    status: DeletionStatus
    deleted_total: int
    kept: tuple[KeptItem, ...]
    notices: list[UUID]

    @classmethod
    def request(
        cls,
        *,
        request_id: UUID,
        subject_ref: str,
        key_ref: str,
        notify_address: str,
        requested_by: str,
    ) -> CorrespondenceDeletion:
        """Record the person's request (R10) and the address the answer goes to."""
        deletion = cls._blank()
        deletion._raise(
            cls.Requested(
                request_id=request_id,
                subject_ref=subject_ref,
                key_ref=key_ref,
                notify_address=notify_address.strip().lower(),
                requested_by=requested_by,
            )
        )
        return deletion

    def needs_notice(self, kept: Sequence[KeptItem]) -> bool:
        """Whether processing with this outcome must tell the person (R10).

        When something is kept for the first time or what is kept changed; and when items kept
        before are finally deleted. Nothing kept, ever: no notice is needed (all deleted).
        """
        return set(kept) != set(self.kept)

    def record_processing(
        self, *, deleted: int, kept: Sequence[KeptItem], notice_id: UUID | None
    ) -> None:
        """Record one processing round: counts, each kept item's reason, and the notice."""
        if self.status is DeletionStatus.COMPLETED:
            raise DeletionAlreadyCompleted("the deletion request was completed")
        notice = self.needs_notice(kept)
        if notice and notice_id is None:
            raise NoticeRequired("what is kept changed: the person must be told")
        ordered = tuple(sorted(kept, key=lambda item: str(item.correspondence_id)))
        self._raise(
            self.Processed(
                request_id=self.id,
                subject_ref=self.subject_ref,
                deleted_count=deleted,
                kept=ordered,
                final=not ordered,
            )
        )
        if notice and notice_id is not None:
            self._raise(
                self.NoticeSent(
                    request_id=self.id,
                    subject_ref=self.subject_ref,
                    notice_id=notice_id,
                    kept_count=len(ordered),
                    reasons=tuple(sorted({item.reason for item in ordered})),
                )
            )

    def _apply(self, event: DeletionEvent) -> None:
        match event:
            case CorrespondenceDeletion.Requested():
                self.id = event.request_id
                self.subject_ref = event.subject_ref
                self.key_ref = event.key_ref
                self.notify_address = event.notify_address
                self.requested_by = event.requested_by
                self.status = DeletionStatus.RECEIVED
                self.deleted_total = 0
                self.kept = ()
                self.notices = []
            case CorrespondenceDeletion.Processed():
                self.deleted_total += event.deleted_count
                self.kept = event.kept
                self.status = DeletionStatus.COMPLETED if event.final else DeletionStatus.PENDING
            case CorrespondenceDeletion.NoticeSent():
                self.notices.append(event.notice_id)
            case _:
                assert_never(event)


DeletionEvent = (
    CorrespondenceDeletion.Requested
    | CorrespondenceDeletion.Processed
    | CorrespondenceDeletion.NoticeSent
)
