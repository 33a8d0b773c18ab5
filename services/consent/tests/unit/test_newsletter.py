"""Rules of newsletter consent (R8): double opt-in, evidence, withdrawal, links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from consent.domain.newsletter import (
    ConfirmationExpired,
    ConsentGiven,
    InvalidWithdrawalLink,
    NotPending,
    Requested,
    SignupDetails,
    Status,
    Subscription,
    Withdrawn,
    check_withdrawal_token,
    confirmation_token_hash,
    normalise_email,
    withdrawal_token,
)
from consent.domain.wording import StaleWording, newsletter_wording

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DETAILS = SignupDetails(name="Kari", email="kari@example.no", role="daglig leder")


def new_subscription(policy_version: str = "2025-1") -> Subscription:
    wording = newsletter_wording(policy_version)
    return Subscription.request(
        subscription_id=uuid4(),
        subject_ref="subj_" + "c" * 32,
        details=DETAILS,
        wording=wording,
        shown_sha256=wording.sha256,
        now=NOW,
    )


def test_a_sign_up_is_pending_until_confirmed_with_the_evidence_of_the_request() -> None:
    subscription = new_subscription()
    assert subscription.status is Status.PENDING
    subscription.confirm(wording=newsletter_wording("2025-1"), now=NOW + timedelta(hours=1))
    assert subscription.status is Status.CONFIRMED
    requested, given = subscription.pending
    assert isinstance(requested, Requested)
    assert requested.details == DETAILS
    assert isinstance(given, ConsentGiven)
    wording = newsletter_wording("2025-1")
    assert (given.policy_version, given.wording_sha256, given.wording_text, given.method) == (
        "2025-1",
        wording.sha256,
        wording.text,
        "web_form+double_opt_in",
    )
    assert given.given_at == NOW + timedelta(hours=1)


def test_a_stale_wording_is_refused() -> None:
    shown = newsletter_wording("2024-1")
    with pytest.raises(StaleWording):
        Subscription.request(
            subscription_id=uuid4(),
            subject_ref="subj_" + "c" * 32,
            details=DETAILS,
            wording=newsletter_wording("2025-1"),
            shown_sha256=shown.sha256,
            now=NOW,
        )


def test_confirming_under_another_wording_than_requested_is_refused() -> None:
    with pytest.raises(ConfirmationExpired):
        new_subscription("2025-1").confirm(wording=newsletter_wording("2025-2"), now=NOW)


def test_confirm_twice_or_after_withdrawal_is_refused() -> None:
    subscription = new_subscription()
    subscription.confirm(wording=newsletter_wording("2025-1"), now=NOW)
    with pytest.raises(NotPending):
        subscription.confirm(wording=newsletter_wording("2025-1"), now=NOW)
    withdrawn = new_subscription()
    withdrawn.withdraw(now=NOW, method="one_click_link", by="subscriber")
    with pytest.raises(NotPending):
        withdrawn.confirm(wording=newsletter_wording("2025-1"), now=NOW)


def test_withdrawal_is_recorded_once() -> None:
    subscription = new_subscription()
    subscription.confirm(wording=newsletter_wording("2025-1"), now=NOW)
    assert subscription.withdraw(now=NOW, method="staff_api", by="staff", withdrawn_by="s1")
    assert not subscription.withdraw(now=NOW, method="staff_api", by="staff", withdrawn_by="s1")
    withdrawn = subscription.pending[-1]
    assert isinstance(withdrawn, Withdrawn)
    assert withdrawn.was_confirmed
    assert subscription.status is Status.WITHDRAWN
    assert len(subscription.pending) == 3


def test_replay_gives_the_same_state() -> None:
    subscription = new_subscription()
    subscription.confirm(wording=newsletter_wording("2025-1"), now=NOW)
    subscription.withdraw(now=NOW, method="one_click_link", by="subscriber")
    replayed = Subscription.replay(subscription.pending)
    assert (replayed.status, replayed.version, replayed.subject_ref) == (
        Status.WITHDRAWN,
        3,
        subscription.subject_ref,
    )


def test_a_request_again_needs_a_pending_subscription() -> None:
    subscription = new_subscription()
    wording = newsletter_wording("2025-1")
    subscription.request_again(
        details=DETAILS, wording=wording, shown_sha256=wording.sha256, now=NOW
    )
    subscription.confirm(wording=wording, now=NOW)
    with pytest.raises(NotPending):
        subscription.request_again(
            details=DETAILS, wording=wording, shown_sha256=wording.sha256, now=NOW
        )


def test_withdrawal_links_are_bound_to_their_subscription_and_key() -> None:
    key, other_key = b"k" * 32, b"o" * 32
    first, second = uuid4(), uuid4()
    token = withdrawal_token(key, first)
    check_withdrawal_token(key, first, token)
    for bad_key, subscription in ((key, second), (other_key, first)):
        with pytest.raises(InvalidWithdrawalLink):
            check_withdrawal_token(bad_key, subscription, token)


def test_tokens_are_stored_hashed_and_addresses_normalised() -> None:
    assert confirmation_token_hash("abc") != "abc"
    assert len(confirmation_token_hash("abc")) == 64
    assert normalise_email("  Kari@Example.NO ") == "kari@example.no"
