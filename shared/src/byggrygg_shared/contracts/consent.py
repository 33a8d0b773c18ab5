"""Integration events of the consent service: newsletter consent (R8), cookie choices (R11) and
privacy-policy versions (R20).

Three topics (key = aggregate id, so each aggregate's events stay in order):

- ``consent.newsletter.v1`` (key = subscription id): a sign-up, its confirmation (the consent,
  with its evidence), its withdrawal, or its expiry when never confirmed. The subscriber's name,
  e-mail and role are key-ring tokens under the subscriber's pseudonymous ``subject_ref``, made
  by consent at sign-up for that sign-up only.
- ``consent.cookie.v1`` (key = visitor ref): each cookie choice of a visitor. The visitor is
  named by a ``subject_ref`` derived from the random visitor cookie by hashing, never by the
  cookie value itself; the events carry no other personal data.
- ``consent.policy.v1`` (key = policy version): the privacy policy's published versions. The
  policy is public text: nothing personal.

Consent evidence (R8, R20): every consent records when it was given, under which policy
version, the exact wording shown (its SHA-256 and, in ``ConsentGiven``, its text) and how it
was given.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal
from uuid import UUID

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.registry import register

__all__ = [
    "COOKIE_TOPIC",
    "NEWSLETTER_TOPIC",
    "POLICY_TOPIC",
    "ConsentGiven",
    "ConsentWithdrawn",
    "CookieChoiceRecorded",
    "NewsletterSubscriptionExpired",
    "NewsletterSubscriptionRequested",
    "PolicyPublished",
]

_PREFIX = "no.byggrygg.consent."
NEWSLETTER_TOPIC = "consent.newsletter.v1"
COOKIE_TOPIC = "consent.cookie.v1"
POLICY_TOPIC = "consent.policy.v1"

ConsentPurpose = Literal["newsletter"]
WithdrawnBy = Literal["subscriber", "staff"]


class _NewsletterEvent(IntegrationEvent):
    source_service: ClassVar[str] = "consent"
    topic: ClassVar[str] = NEWSLETTER_TOPIC


@register
class PolicyPublished(IntegrationEvent):
    """Platform staff published a version of the privacy policy (R20). Immutable."""

    event_type: ClassVar[str] = _PREFIX + "PolicyPublished"
    source_service: ClassVar[str] = "consent"
    topic: ClassVar[str] = POLICY_TOPIC

    version: str
    text: str
    text_sha256: str
    effective_on: date
    published_at: datetime
    published_by: str


@register
class NewsletterSubscriptionRequested(_NewsletterEvent):
    """Someone asked to receive the newsletter (R8); a confirmation link was mailed. Not yet a
    consent: that is ``ConsentGiven``, when the link is followed (double opt-in)."""

    event_type: ClassVar[str] = _PREFIX + "NewsletterSubscriptionRequested"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"name", "email", "role"})

    subscription_id: UUID
    subject_ref: str
    name: str
    email: str
    role: str
    policy_version: str
    wording_sha256: str
    requested_at: datetime


@register
class ConsentGiven(_NewsletterEvent):
    """A person consented (R8), with the evidence: when, under which policy version, the exact
    wording shown (hash and text) and how (e.g. ``web_form+double_opt_in``)."""

    event_type: ClassVar[str] = _PREFIX + "ConsentGiven"

    subscription_id: UUID
    subject_ref: str
    purpose: ConsentPurpose
    given_at: datetime
    policy_version: str
    wording_sha256: str
    wording_text: str
    method: str


@register
class ConsentWithdrawn(_NewsletterEvent):
    """A consent, or a sign-up not yet confirmed, was withdrawn (R8): nothing more is sent.

    ``was_confirmed`` says whether a consent had been given; ``method`` how it was withdrawn
    (``one_click_link``, ``staff_api``); ``withdrawn_by`` the staff member's user id, if any.
    """

    event_type: ClassVar[str] = _PREFIX + "ConsentWithdrawn"

    subscription_id: UUID
    subject_ref: str
    purpose: ConsentPurpose
    withdrawn_at: datetime
    was_confirmed: bool
    method: str
    by: WithdrawnBy
    withdrawn_by: str | None = None


@register
class NewsletterSubscriptionExpired(_NewsletterEvent):
    """A sign-up was never confirmed and its confirmation link expired (R8): no consent was
    given, so the sign-up is forgotten. Consent destroys the subscriber's key (the
    ``subject_ref`` of this sign-up only), so the name, e-mail and role in the sign-up's
    ``NewsletterSubscriptionRequested`` become unreadable everywhere (crypto-shredding).

    ``link_expired_at`` is when the last confirmation link stopped working; ``expired_at`` when
    the sign-up was forgotten (a grace period later, at the latest one purge interval after).
    """

    event_type: ClassVar[str] = _PREFIX + "NewsletterSubscriptionExpired"

    subscription_id: UUID
    subject_ref: str
    link_expired_at: datetime
    expired_at: datetime


@register
class CookieChoiceRecorded(IntegrationEvent):
    """A visitor chose which cookies to allow (R11); a later choice supersedes it. Necessary
    cookies need no consent and are always on; ``analytics`` is the visitor's choice."""

    event_type: ClassVar[str] = _PREFIX + "CookieChoiceRecorded"
    source_service: ClassVar[str] = "consent"
    topic: ClassVar[str] = COOKIE_TOPIC

    subject_ref: str
    necessary: bool
    analytics: bool
    recorded_at: datetime
    policy_version: str
    wording_sha256: str
