"""The Correspondence aggregate and the retention and hold rules (R9, R10)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.domain.correspondence import (
    Channel,
    Correspondence,
    CorrespondenceAlreadyErased,
    EmailMessage,
    ErasureReason,
    HoldFacts,
    ItemFacts,
    KeptItem,
    KeptReason,
    MessageDirection,
    NoMessages,
    NotAnEmailCorrespondence,
    PhoneContact,
    add_years,
    kept_reason,
    plan_deletion,
    retain_until,
    retention_expired,
)

ORG = UUID("00000000-0000-0000-0000-0000000000aa")
WHEN = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def message(minutes: int = 0, text: str = "Hei") -> EmailMessage:
    return EmailMessage(
        message_id=uuid4(),
        direction=MessageDirection.INBOUND,
        sent_at=WHEN.replace(minute=minutes),
        subject="Spørsmål",
        text=text,
    )


def email_item(*messages: EmailMessage) -> Correspondence:
    return Correspondence.log_email(
        correspondence_id=uuid4(),
        organisation_id=ORG,
        subject_ref="subj_" + "1" * 32,
        key_ref="corr_" + "2" * 32,
        email_address="  Kari@Example.NO ",
        messages=messages or (message(),),
        logged_by="staff-1",
    )


def test_email_log_raises_the_thread_then_its_messages_in_time_order() -> None:
    late, early = message(50, "second"), message(10, "first")
    item = email_item(late, early)
    assert [type(event) for event in item.pending] == [
        Correspondence.EmailLogged,
        Correspondence.MessageRecorded,
        Correspondence.MessageRecorded,
    ]
    assert item.email_address == "kari@example.no"
    assert [m.text for m in item.messages] == ["first", "second"]
    assert item.channel is Channel.EMAIL
    assert item.loaded_version == 0
    assert item.version == 3


def test_email_without_messages_is_refused() -> None:
    with pytest.raises(NoMessages):
        Correspondence.log_email(
            correspondence_id=uuid4(),
            organisation_id=ORG,
            subject_ref="subj_x",
            key_ref="corr_x",
            email_address="a@b.no",
            messages=(),
            logged_by="staff-1",
        )


def phone_item() -> Correspondence:
    return Correspondence.log_phone(
        correspondence_id=uuid4(),
        organisation_id=ORG,
        subject_ref="subj_x",
        key_ref="corr_x",
        contact=PhoneContact(" 12345678 ", " Kari Nordmann ", " Ringte om kurs. ", WHEN),
        logged_by="staff-1",
    )


def test_phone_contact_keeps_number_name_and_summary_and_takes_no_messages() -> None:
    item = phone_item()
    assert item.phone == PhoneContact("12345678", "Kari Nordmann", "Ringte om kurs.", WHEN)
    with pytest.raises(NotAnEmailCorrespondence):
        item.record_message(message(), recorded_by="staff-1")


def test_erased_item_forgets_its_data_and_accepts_nothing_more() -> None:
    item = email_item()
    item.erase(reason=ErasureReason.DELETION_REQUEST, request_id=uuid4())
    assert item.erased
    assert item.email_address is None
    assert item.messages == []
    with pytest.raises(CorrespondenceAlreadyErased):
        item.record_message(message(), recorded_by="staff-1")
    with pytest.raises(CorrespondenceAlreadyErased):
        item.erase(reason=ErasureReason.RETENTION_EXPIRED, request_id=None)


def test_replay_rebuilds_the_same_state() -> None:
    item = email_item(message(1), message(2))
    item.record_message(message(3), recorded_by="staff-2")
    replayed = Correspondence.replay(item.pending)
    assert replayed.version == item.version
    assert replayed.messages == item.messages
    assert replayed.email_address == item.email_address
    assert replayed.pending == []


@given(st.lists(st.integers(min_value=0, max_value=59), min_size=1, max_size=6), st.booleans())
def test_replaying_any_history_gives_the_same_state(minutes: list[int], erase: bool) -> None:
    item = email_item(*(message(m, str(m)) for m in minutes))
    if erase:
        item.erase(reason=ErasureReason.RETENTION_EXPIRED, request_id=None)
    replayed = Correspondence.replay(item.pending)
    assert {k: v for k, v in vars(replayed).items() if k != "pending"} == {
        k: v for k, v in vars(item).items() if k != "pending"
    }


def test_retention_runs_while_customer_then_one_year_after_contract_end() -> None:
    assert retain_until(contract_ended_on=None, logged_on=date(2020, 1, 1), years=1) is None
    assert retain_until(
        contract_ended_on=date(2025, 6, 30), logged_on=date(2024, 1, 1), years=1
    ) == date(2026, 6, 30)
    # Logged after the contract ended: a year from when it was logged.
    assert retain_until(
        contract_ended_on=date(2025, 6, 30), logged_on=date(2025, 9, 1), years=1
    ) == date(2026, 9, 1)
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)


def test_an_item_is_kept_through_its_last_day_and_expired_after() -> None:
    until = date(2026, 6, 30)
    assert not retention_expired(until, today=date(2026, 6, 30))
    assert retention_expired(until, today=date(2026, 7, 1))
    assert not retention_expired(None, today=date(2100, 1, 1))


def test_a_complaint_or_a_legal_claim_keeps_an_item() -> None:
    assert kept_reason(HoldFacts(False, False)) is None
    assert kept_reason(HoldFacts(True, False)) is KeptReason.OPEN_COMPLAINT
    assert kept_reason(HoldFacts(False, True)) is KeptReason.LEGAL_CLAIM
    assert kept_reason(HoldFacts(True, True)) is KeptReason.OPEN_COMPLAINT


def test_deletion_plan_deletes_what_no_hold_protects_and_keeps_the_rest_with_reasons() -> None:
    free, held, disputed = uuid4(), uuid4(), uuid4()
    plan = plan_deletion(
        [
            ItemFacts(free, HoldFacts(False, False)),
            ItemFacts(held, HoldFacts(True, False)),
            ItemFacts(disputed, HoldFacts(False, True)),
        ]
    )
    assert plan.delete == (free,)
    assert set(plan.keep) == {
        KeptItem(held, KeptReason.OPEN_COMPLAINT),
        KeptItem(disputed, KeptReason.LEGAL_CLAIM),
    }
