"""Consent's data inventory (GDPR art. 30, DESIGN §4): every table column and event field that
holds personal data, why it is kept, on what basis, for how long, and what erasure does.

The privacy orchestrator plans data-subject requests from this declaration, and
`tests/unit/test_inventory.py` fails when a table or an event gains a personal field that is
not declared here (see `byggrygg_shared.inventory`).

How erasure works in consent:
- projection rows and working state (plaintext) are deleted;
- event fields are key-ring tokens: destroying the subject's key makes every copy unreadable
  (crypto-shredding), in the event store and on Kafka alike;
- mail: a queued mail holds the address and the body until it is sent; sending clears both
  (only kind, subject line and times remain), so a sent mail holds no personal data.
- the proof that a consent was given (time, policy version, wording, method) names only the
  pseudonymous subject_ref; it is kept as evidence of lawful processing (GDPR art. 7(1)).

Each capability declares its own block below; keep the blocks apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from byggrygg_shared.contracts import consent as contracts
from byggrygg_shared.contracts import correspondence as corr
from byggrygg_shared.contracts import privacy as privacy_contracts
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.inventory import (
    DataCategory,
    DataInventory,
    Erasure,
    EventField,
    LawfulBasis,
    Location,
    NonPersonalField,
    PersonalDataField,
    TableColumn,
)


def _declare(
    locations: Iterable[Location],
    *,
    subject: str,
    category: DataCategory,
    purpose: str,
    basis: LawfulBasis,
    retention: str,
    erasure: Erasure,
    keep_basis: str | None = None,
) -> list[PersonalDataField]:
    return [
        PersonalDataField(
            location=location,
            subject=subject,
            category=category,
            purpose=purpose,
            lawful_basis=basis,
            retention=retention,
            erasure=erasure,
            keep_basis=keep_basis,
        )
        for location in locations
    ]


def _columns(table: str, *columns: str) -> list[Location]:
    return [TableColumn(table, column) for column in columns]


def _fields(contract: type[IntegrationEvent], *fields: str) -> list[Location]:
    return [EventField(contract.event_type, field) for field in fields]


# --- mail ---------------------------------------------------------------------------------

MAIL_RETENTION: Final = (
    "until the mail is sent; then the address and the body are cleared (an unsent "
    "confirmation mail is dropped when its sign-up expires unconfirmed, R8)"
)

_MAIL: Final = (
    *_declare(
        _columns("mail_outbox", "recipient"),
        subject="recipient of a mail from consent",
        category=DataCategory.CONTACT,
        purpose="deliver the mail (double opt-in links, notices)",
        basis=LawfulBasis.LEGITIMATE_INTEREST,
        retention=MAIL_RETENTION,
        erasure=Erasure.DELETE,
    ),
    *_declare(
        _columns("mail_outbox", "body"),
        subject="recipient of a mail from consent",
        category=DataCategory.CONTENT,
        purpose="deliver the mail; holds only the personal data the mail needs",
        basis=LawfulBasis.LEGITIMATE_INTEREST,
        retention=MAIL_RETENTION,
        erasure=Erasure.DELETE,
    ),
)

# --- policy versions (R20): public text, nothing personal ----------------------------------

POLICY_TEXT_REASON: Final = "the privacy policy's public text (or its hash), about no person"

_POLICY_NON_PERSONAL: Final = (
    NonPersonalField(TableColumn("policy_versions", "text"), POLICY_TEXT_REASON),
    NonPersonalField(TableColumn("policy_versions", "text_sha256"), POLICY_TEXT_REASON),
    NonPersonalField(EventField(contracts.PolicyPublished.event_type, "text"), POLICY_TEXT_REASON),
    NonPersonalField(
        EventField(contracts.PolicyPublished.event_type, "text_sha256"), POLICY_TEXT_REASON
    ),
)

# --- newsletter (R8) ----------------------------------------------------------------------

UNCONFIRMED_EXPIRY: Final = (
    "a sign-up never confirmed is forgotten once its confirmation link expired "
    "(BYGGRYGG_CONSENT_CONFIRMATION_TTL_HOURS, default 48) plus "
    "BYGGRYGG_CONSENT_UNCONFIRMED_GRACE_MINUTES (default 60), by a purge run every "
    "BYGGRYGG_CONSENT_UNCONFIRMED_PURGE_INTERVAL_SECONDS (default 300)"
)
NEWSLETTER_RETENTION: Final = (
    "while the consent lasts; cleared from the projection when it is withdrawn (R8); "
    + UNCONFIRMED_EXPIRY
    + ": then cleared from the projection"
)
NEWSLETTER_EVENT_RETENTION: Final = (
    "as long as the subscriber's key exists; " + UNCONFIRMED_EXPIRY + ": then its key (made "
    "for that sign-up only) is destroyed"
)

_NEWSLETTER: Final = (
    *_declare(
        _columns("newsletter_subscriptions", "name", "role"),
        subject="newsletter subscriber",
        category=DataCategory.IDENTITY,
        purpose="address the newsletter to the subscriber (R8)",
        basis=LawfulBasis.CONSENT,
        retention=NEWSLETTER_RETENTION,
        erasure=Erasure.DELETE,
    ),
    *_declare(
        _columns("newsletter_subscriptions", "email"),
        subject="newsletter subscriber",
        category=DataCategory.CONTACT,
        purpose="send the newsletter and its double-opt-in link (R8)",
        basis=LawfulBasis.CONSENT,
        retention=NEWSLETTER_RETENTION,
        erasure=Erasure.DELETE,
    ),
    *_declare(
        _fields(contracts.NewsletterSubscriptionRequested, "name", "role"),
        subject="newsletter subscriber",
        category=DataCategory.IDENTITY,
        purpose="record what the person signed up with (R8)",
        basis=LawfulBasis.CONSENT,
        retention=NEWSLETTER_EVENT_RETENTION,
        erasure=Erasure.CRYPTO_SHRED,
    ),
    *_declare(
        _fields(contracts.NewsletterSubscriptionRequested, "email"),
        subject="newsletter subscriber",
        category=DataCategory.CONTACT,
        purpose="record the address the consent is for (R8)",
        basis=LawfulBasis.CONSENT,
        retention=NEWSLETTER_EVENT_RETENTION,
        erasure=Erasure.CRYPTO_SHRED,
    ),
)

WORDING_REASON: Final = "the consent wording the platform showed (the same for everyone)"

_NEWSLETTER_NON_PERSONAL: Final = (
    NonPersonalField(EventField(contracts.ConsentGiven.event_type, "wording_text"), WORDING_REASON),
)

# --- cookies and analytics (R11) ----------------------------------------------------------

_COOKIES: Final = (
    *_declare(
        _columns("analytics_events", "visitor_ref"),
        subject="website visitor (pseudonymous)",
        category=DataCategory.PROFILE,
        purpose="behaviour statistics, only with the visitor's consent (R11)",
        basis=LawfulBasis.CONSENT,
        retention="13 months",
        erasure=Erasure.DELETE,
    ),
)

EVENT_KIND_REASON: Final = "the name of an analytics event type (e.g. page_view), not a person's"

_COOKIES_NON_PERSONAL: Final = (
    NonPersonalField(TableColumn("analytics_events", "event_kind"), EVENT_KIND_REASON),
)

# --- correspondence (R9, R10) and complaints (R21) ----------------------------------------
# Encrypted at rest everywhere: every column below holds a key-ring token under the key scope of
# its item / request / complaint (``key_ref``), never plaintext. Deleting an item removes its
# rows and destroys its scope; the scope is the item's, so other data of the person survives.

CORRESPONDENCE_RETENTION: Final = (
    "while the organisation is a customer, then BYGGRYGG_CONSENT_CORRESPONDENCE_RETENTION_YEARS "
    "(default 1) after its contract ended (retain_until); longer only under a hold (R9); "
    "deleted earlier on the person's request unless held (R10)"
)
CORRESPONDENCE_PURPOSE: Final = "keep a record of contact with the person (R9)"
CORRESPONDENCE_SUBJECT: Final = "person in correspondence with the platform"
HOLD_BASIS: Final = (
    "an open complaint about the person's correspondence (R21) or a legal claim (the "
    "organisation's contract ended with a legal dispute, R2): kept until it is resolved, "
    "then deleted; the person is told why (R10)"
)


def _correspondence(
    locations: Iterable[Location], category: DataCategory, *, shredded: bool
) -> list[PersonalDataField]:
    return _declare(
        locations,
        subject=CORRESPONDENCE_SUBJECT,
        category=category,
        purpose=CORRESPONDENCE_PURPOSE,
        basis=LawfulBasis.LEGITIMATE_INTEREST,
        retention=CORRESPONDENCE_RETENTION,
        erasure=Erasure.CRYPTO_SHRED if shredded else Erasure.DELETE,
    )


COMPLAINT_RETENTION: Final = (
    "while the question or complaint is handled; erased with the person's erasure request "
    "through the privacy orchestrator (its own key scope), except while a complaint is open"
)

_CORRESPONDENCE: Final = (
    *_correspondence(
        _columns("correspondence_items", "email_address", "phone_number"),
        DataCategory.CONTACT,
        shredded=False,
    ),
    *_correspondence(
        _columns("correspondence_items", "person_name"), DataCategory.IDENTITY, shredded=False
    ),
    *_correspondence(
        [
            *_columns("correspondence_items", "summary"),
            *_columns("correspondence_messages", "message_text"),
        ],
        DataCategory.CONTENT,
        shredded=False,
    ),
    *_correspondence(
        [
            *_fields(corr.EmailCorrespondenceLogged, "email_address"),
            *_fields(corr.PhoneContactLogged, "phone_number"),
        ],
        DataCategory.CONTACT,
        shredded=True,
    ),
    *_correspondence(
        _fields(corr.PhoneContactLogged, "person_name"), DataCategory.IDENTITY, shredded=True
    ),
    *_correspondence(
        [
            *_fields(corr.PhoneContactLogged, "summary"),
            *_fields(corr.EmailMessageRecorded, "message_subject", "message_text"),
        ],
        DataCategory.CONTENT,
        shredded=True,
    ),
    *_declare(
        [
            *_columns("correspondence_deletions", "notify_address"),
            *_fields(corr.CorrespondenceDeletionRequested, "notify_address"),
        ],
        subject="person asking for their correspondence to be deleted",
        category=DataCategory.CONTACT,
        purpose="tell the person what was kept and why (R10)",
        basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="until the deletion request is completed: then cleared and its scope destroyed",
        erasure=Erasure.CRYPTO_SHRED,
    ),
    *_declare(
        [
            *_columns("complaints", "summary", "resolution_text"),
            *_fields(corr.QuestionRecorded, "summary"),
            *_fields(corr.QuestionAnswered, "resolution_text"),
            *_fields(corr.ComplaintOpened, "summary"),
            *_fields(corr.ComplaintResolved, "resolution_text"),
        ],
        subject="person with a question or complaint",
        category=DataCategory.CONTENT,
        purpose="handle the question or complaint and document how it was handled (R21)",
        basis=LawfulBasis.LEGITIMATE_INTEREST,
        retention=COMPLAINT_RETENTION,
        erasure=Erasure.CRYPTO_SHRED,
    ),
)

_CORRESPONDENCE_NON_PERSONAL: Final = (
    NonPersonalField(
        EventField(corr.QuestionAnswered.event_type, "answered_by"),
        "the user id of the staff member who answered, not the person's answer",
    ),
)

# --- privacy requests (issue 5): consent's replies to the privacy orchestrator -------------

_PRIVACY_REPLIES: Final = (
    # consent's part of an access export (R14), sealed under the subject's key in its reply
    # to the privacy orchestrator (byggrygg_shared.participant).
    *_declare(
        _fields(privacy_contracts.ParticipantReplied, "export"),
        subject="newsletter subscriber, person in correspondence, person with a complaint",
        category=DataCategory.CONTENT,
        purpose="hand the person's data to the privacy orchestrator for an access export (R14)",
        basis=LawfulBasis.LEGAL_OBLIGATION,
        retention="the privacy topics' retention (30 days)",
        erasure=Erasure.CRYPTO_SHRED,
    ),
)

# --- the inventory ------------------------------------------------------------------------

PERSONAL: Final[tuple[PersonalDataField, ...]] = (
    *_MAIL,
    *_NEWSLETTER,
    *_COOKIES,
    *_CORRESPONDENCE,
    *_PRIVACY_REPLIES,
)

NON_PERSONAL: Final[tuple[NonPersonalField, ...]] = (
    *_POLICY_NON_PERSONAL,
    *_NEWSLETTER_NON_PERSONAL,
    *_COOKIES_NON_PERSONAL,
    *_CORRESPONDENCE_NON_PERSONAL,
)

INVENTORY: Final = DataInventory(service="consent", personal=PERSONAL, non_personal=NON_PERSONAL)

# The contracts this service emits: the inventory covers exactly these.
EMITTED_CONTRACTS: Final[tuple[type[IntegrationEvent], ...]] = (
    contracts.PolicyPublished,
    contracts.NewsletterSubscriptionRequested,
    contracts.ConsentGiven,
    contracts.ConsentWithdrawn,
    contracts.NewsletterSubscriptionExpired,
    contracts.CookieChoiceRecorded,
    corr.EmailCorrespondenceLogged,
    corr.EmailMessageRecorded,
    corr.PhoneContactLogged,
    corr.CorrespondenceErased,
    corr.CorrespondenceDeletionRequested,
    corr.CorrespondenceDeletionCompleted,
    corr.DeletionNoticeSent,
    corr.QuestionRecorded,
    corr.QuestionAnswered,
    corr.ComplaintOpened,
    corr.ComplaintResolved,
    corr.LegalClaimResolved,
    privacy_contracts.ParticipantReplied,
)
