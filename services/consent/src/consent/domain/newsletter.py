"""Newsletter subscriptions and their consent (R8): double opt-in, evidence, withdrawal.

A subscription is one sign-up of one address, from request to withdrawal:

- ``request``: someone signs up (name, e-mail, role) after being shown the consent wording;
  a confirmation link is mailed. Not a consent yet. Signing up again while the link has not
  been followed records a new request (new evidence, new link) on the same subscription.
- ``confirm``: the link is followed. That is the consent, recorded with its evidence: time,
  policy version, the exact wording (hash and text) and the method.
- ``withdraw``: at any time, by the subscriber (one-click link) or by staff; then the address
  leaves the send list. Withdrawing twice changes nothing. Signing up after a withdrawal is a
  new subscription with new evidence.
- ``expire``: the link was never followed and has expired. No consent was given, so the
  sign-up is forgotten (R8: name, e-mail and role are kept only with consent); signing up
  again is a new subscription. Withdrawing an expired sign-up changes nothing.

One-click withdrawal links carry an HMAC of the subscription id, so they need no stored token
and every newsletter mail can carry one (``withdrawal_token``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, Literal
from uuid import UUID

from byggrygg_shared.aggregate import Aggregate
from consent.domain.errors import ConsentError
from consent.domain.wording import Wording

DOUBLE_OPT_IN: Final = "web_form+double_opt_in"
ONE_CLICK_LINK: Final = "one_click_link"
STAFF_API: Final = "staff_api"

WithdrawnBy = Literal["subscriber", "staff"]


class Status(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class NotPending(ConsentError):
    """The subscription is not waiting for confirmation (already confirmed or withdrawn)."""


class ConfirmationNotFound(ConsentError):
    """No pending subscription has this confirmation token (unknown, used or replaced)."""


class ConfirmationExpired(ConsentError):
    """The confirmation link is too old; the person must sign up again."""


class ConfirmationStillValid(ConsentError):
    """The sign-up's confirmation link still works, so it cannot be expired yet."""


class InvalidWithdrawalLink(ConsentError):
    """The withdrawal link's token does not match its subscription."""


class SubscriptionNotFound(ConsentError):
    """No subscription has this id."""


class NoPolicyToConsentTo(ConsentError):
    """No privacy-policy version is in effect, so no consent can be recorded (R20)."""


@dataclass(frozen=True)
class SignupDetails:
    """What a person signs up with: personal data, sealed before it is stored in an event."""

    name: str
    email: str
    role: str


@dataclass(frozen=True)
class Requested:
    subscription_id: UUID
    subject_ref: str
    policy_version: str
    wording_sha256: str
    requested_at: datetime
    # The plaintext, present when the event is raised; events read back carry None (the
    # aggregate never needs it, and it stays sealed in the store).
    details: SignupDetails | None = None


@dataclass(frozen=True)
class ConsentGiven:
    subscription_id: UUID
    subject_ref: str
    given_at: datetime
    policy_version: str
    wording_sha256: str
    wording_text: str
    method: str


@dataclass(frozen=True)
class Withdrawn:
    subscription_id: UUID
    subject_ref: str
    withdrawn_at: datetime
    was_confirmed: bool
    method: str
    by: WithdrawnBy
    withdrawn_by: str | None


@dataclass(frozen=True)
class Expired:
    subscription_id: UUID
    subject_ref: str
    link_expired_at: datetime
    expired_at: datetime


SubscriptionEvent = Requested | ConsentGiven | Withdrawn | Expired


class Subscription(Aggregate[SubscriptionEvent]):
    """One sign-up of one address, event-sourced."""

    subscription_id: UUID
    subject_ref: str
    status: Status
    policy_version: str
    wording_sha256: str

    @classmethod
    def request(
        cls,
        *,
        subscription_id: UUID,
        subject_ref: str,
        details: SignupDetails,
        wording: Wording,
        shown_sha256: str,
        now: datetime,
    ) -> Subscription:
        """A new sign-up, if the wording shown is the current one."""
        wording.require(shown_sha256)
        subscription = cls._blank()
        subscription._raise(
            Requested(
                subscription_id=subscription_id,
                subject_ref=subject_ref,
                policy_version=wording.policy_version,
                wording_sha256=wording.sha256,
                requested_at=now,
                details=details,
            )
        )
        return subscription

    def request_again(
        self, *, details: SignupDetails, wording: Wording, shown_sha256: str, now: datetime
    ) -> None:
        """The same address signed up again before confirming: new details and evidence."""
        wording.require(shown_sha256)
        if self.status is not Status.PENDING:
            raise NotPending(str(self.subscription_id))
        self._raise(
            Requested(
                subscription_id=self.subscription_id,
                subject_ref=self.subject_ref,
                policy_version=wording.policy_version,
                wording_sha256=wording.sha256,
                requested_at=now,
                details=details,
            )
        )

    def confirm(self, *, wording: Wording, now: datetime) -> None:
        """The confirmation link was followed: the consent, with the evidence of the request.

        ``wording`` is the wording of the request's policy version; its hash must be the one
        recorded at the request (else the text can no longer be proven and the person must
        sign up again).
        """
        if self.status is not Status.PENDING:
            raise NotPending(str(self.subscription_id))
        if wording.sha256 != self.wording_sha256 or wording.policy_version != self.policy_version:
            raise ConfirmationExpired(str(self.subscription_id))
        self._raise(
            ConsentGiven(
                subscription_id=self.subscription_id,
                subject_ref=self.subject_ref,
                given_at=now,
                policy_version=self.policy_version,
                wording_sha256=self.wording_sha256,
                wording_text=wording.text,
                method=DOUBLE_OPT_IN,
            )
        )

    def withdraw(
        self, *, now: datetime, method: str, by: WithdrawnBy, withdrawn_by: str | None = None
    ) -> bool:
        """Withdraw (R8); False if it already was, or expired unconfirmed (nothing changes)."""
        if self.status in (Status.WITHDRAWN, Status.EXPIRED):
            return False
        self._raise(
            Withdrawn(
                subscription_id=self.subscription_id,
                subject_ref=self.subject_ref,
                withdrawn_at=now,
                was_confirmed=self.status is Status.CONFIRMED,
                method=method,
                by=by,
                withdrawn_by=withdrawn_by,
            )
        )
        return True

    def expire(self, *, link_expired_at: datetime, now: datetime) -> None:
        """The sign-up was never confirmed and its link expired at ``link_expired_at``: forget
        it (R8). Raises ``NotPending`` if it was confirmed or withdrawn meanwhile, and
        ``ConfirmationStillValid`` if the link still works at ``now``."""
        if self.status is not Status.PENDING:
            raise NotPending(str(self.subscription_id))
        if link_expired_at > now:
            raise ConfirmationStillValid(str(self.subscription_id))
        self._raise(
            Expired(
                subscription_id=self.subscription_id,
                subject_ref=self.subject_ref,
                link_expired_at=link_expired_at,
                expired_at=now,
            )
        )

    def _apply(self, event: SubscriptionEvent) -> None:
        match event:
            case Requested():
                self.subscription_id = event.subscription_id
                self.subject_ref = event.subject_ref
                self.status = Status.PENDING
                self.policy_version = event.policy_version
                self.wording_sha256 = event.wording_sha256
            case ConsentGiven():
                self.status = Status.CONFIRMED
            case Withdrawn():
                self.status = Status.WITHDRAWN
            case Expired():
                self.status = Status.EXPIRED


def normalise_email(address: str) -> str:
    """One spelling per address: trimmed, lower case (the uniqueness rule's key)."""
    return address.strip().lower()


def withdrawal_token(key: bytes, subscription_id: UUID) -> str:
    """The one-click withdrawal token of a subscription: HMAC-SHA256, URL-safe base64."""
    digest = hmac.new(key, f"newsletter-withdraw:{subscription_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")


def check_withdrawal_token(key: bytes, subscription_id: UUID, token: str) -> None:
    """Raise ``InvalidWithdrawalLink`` unless ``token`` is the subscription's token."""
    if not hmac.compare_digest(withdrawal_token(key, subscription_id), token):
        raise InvalidWithdrawalLink(str(subscription_id))


def confirmation_token_hash(token: str) -> str:
    """What is stored of a confirmation token: its SHA-256 (the token is only in the mail)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
