"""Rules of forgetting a sign-up that was never confirmed (R8)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent.domain.newsletter import (
    ConfirmationStillValid,
    Expired,
    NotPending,
    Status,
    Subscription,
)
from consent.domain.wording import newsletter_wording

from .test_newsletter import NOW, new_subscription

LINK_EXPIRED = NOW + timedelta(hours=48)


def test_a_pending_sign_up_whose_link_expired_is_forgotten() -> None:
    subscription = new_subscription()
    subscription.expire(link_expired_at=LINK_EXPIRED, now=LINK_EXPIRED + timedelta(hours=1))
    assert subscription.status is Status.EXPIRED
    expired = subscription.pending[-1]
    assert expired == Expired(
        subscription_id=subscription.subscription_id,
        subject_ref=subscription.subject_ref,
        link_expired_at=LINK_EXPIRED,
        expired_at=LINK_EXPIRED + timedelta(hours=1),
    )
    assert Subscription.replay(subscription.pending).status is Status.EXPIRED


def test_a_sign_up_whose_link_still_works_is_not_forgotten() -> None:
    subscription = new_subscription()
    with pytest.raises(ConfirmationStillValid):
        subscription.expire(link_expired_at=LINK_EXPIRED, now=LINK_EXPIRED - timedelta(seconds=1))
    assert subscription.status is Status.PENDING


def test_a_confirmed_or_withdrawn_sign_up_is_not_forgotten() -> None:
    confirmed = new_subscription()
    confirmed.confirm(wording=newsletter_wording("2025-1"), now=NOW)
    withdrawn = new_subscription()
    withdrawn.withdraw(now=NOW, method="one_click_link", by="subscriber")
    for subscription in (confirmed, withdrawn):
        with pytest.raises(NotPending):
            subscription.expire(link_expired_at=LINK_EXPIRED, now=LINK_EXPIRED)


def test_an_expired_sign_up_cannot_be_confirmed_expired_again_or_withdrawn() -> None:
    subscription = new_subscription()
    subscription.expire(link_expired_at=LINK_EXPIRED, now=LINK_EXPIRED)
    raised = len(subscription.pending)
    with pytest.raises(NotPending):
        subscription.confirm(wording=newsletter_wording("2025-1"), now=LINK_EXPIRED)
    with pytest.raises(NotPending):
        subscription.expire(link_expired_at=LINK_EXPIRED, now=LINK_EXPIRED)
    changed = subscription.withdraw(now=LINK_EXPIRED, method="one_click_link", by="subscriber")
    assert changed is False
    assert len(subscription.pending) == raised
