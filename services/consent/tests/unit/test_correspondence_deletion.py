"""The deletion request of a person's correspondence (R10): processing rounds and notices."""

from __future__ import annotations

from uuid import uuid4

import pytest

from consent.domain.correspondence import KeptItem, KeptReason
from consent.domain.correspondence_deletion import (
    CorrespondenceDeletion,
    DeletionAlreadyCompleted,
    DeletionStatus,
    NoticeRequired,
)


def new_request() -> CorrespondenceDeletion:
    deletion = CorrespondenceDeletion.request(
        request_id=uuid4(),
        subject_ref="subj_x",
        key_ref="cdel_x",
        notify_address=" Kari@Example.no ",
        requested_by="staff-1",
    )
    deletion.pending.clear()
    return deletion


def test_request_records_the_notify_address_normalised() -> None:
    deletion = new_request()
    assert deletion.notify_address == "kari@example.no"
    assert deletion.status is DeletionStatus.RECEIVED


def test_everything_deleted_completes_without_a_notice() -> None:
    deletion = new_request()
    assert not deletion.needs_notice([])
    deletion.record_processing(deleted=3, kept=[], notice_id=None)
    [processed] = deletion.pending
    assert isinstance(processed, CorrespondenceDeletion.Processed)
    assert processed.final
    assert processed.deleted_count == 3
    assert processed.kept == ()
    assert deletion.status is DeletionStatus.COMPLETED
    with pytest.raises(DeletionAlreadyCompleted):
        deletion.record_processing(deleted=0, kept=[], notice_id=None)


def test_kept_items_need_a_notice_naming_the_reasons_and_leave_the_request_pending() -> None:
    deletion = new_request()
    kept = [KeptItem(uuid4(), KeptReason.OPEN_COMPLAINT), KeptItem(uuid4(), KeptReason.LEGAL_CLAIM)]
    with pytest.raises(NoticeRequired):
        deletion.record_processing(deleted=1, kept=kept, notice_id=None)
    assert deletion.pending == []
    notice_id = uuid4()
    deletion.record_processing(deleted=1, kept=kept, notice_id=notice_id)
    processed, notice = deletion.pending
    assert isinstance(processed, CorrespondenceDeletion.Processed)
    assert not processed.final
    assert isinstance(notice, CorrespondenceDeletion.NoticeSent)
    assert notice.notice_id == notice_id
    assert notice.kept_count == 2
    assert set(notice.reasons) == {KeptReason.OPEN_COMPLAINT, KeptReason.LEGAL_CLAIM}
    assert deletion.status is DeletionStatus.PENDING


def test_released_hold_completes_the_request_with_a_final_notice() -> None:
    deletion = new_request()
    kept = [KeptItem(uuid4(), KeptReason.OPEN_COMPLAINT)]
    deletion.record_processing(deleted=0, kept=kept, notice_id=uuid4())
    # Same kept set again: nothing changed for the person, no new notice.
    assert not deletion.needs_notice(kept)
    deletion.record_processing(deleted=0, kept=kept, notice_id=None)
    assert deletion.status is DeletionStatus.PENDING
    assert deletion.needs_notice([])
    final_notice = uuid4()
    deletion.record_processing(deleted=1, kept=[], notice_id=final_notice)
    assert deletion.status is DeletionStatus.COMPLETED
    assert deletion.deleted_total == 1
    assert deletion.notices[-1] == final_notice
    replayed = CorrespondenceDeletion.replay(
        [
            CorrespondenceDeletion.Requested(
                deletion.id, "subj_x", "cdel_x", "kari@example.no", "staff-1"
            ),
            *deletion.pending,
        ]
    )
    assert replayed.status is DeletionStatus.COMPLETED
    assert replayed.notices == deletion.notices
