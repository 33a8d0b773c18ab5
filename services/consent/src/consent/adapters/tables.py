"""Consent's database schema as SQLAlchemy metadata: alembic migrates from it, and the
data-inventory test reads it to find undeclared personal columns (docs/decisions.md).

The event store (source of truth and Kafka outbox) and the inbox come from the shared library.
The other tables, by concept (each module owns its block; keep them in one ``METADATA``):

- mail: ``mail_outbox``, the transactional mail outbox (working state, not event-sourced);
- policy versions (R20): ``policy_versions``, the projection of ``PolicyPublished``;
- newsletter (R8): ``newsletter_subscriptions`` (projection), ``newsletter_confirmations``
  (the hashes of double-opt-in tokens: working state) and ``newsletter_key_shreds`` (keys of
  expired, never-confirmed sign-ups still to destroy: working state);
- cookies (R11): ``cookie_choices`` (projection: each visitor's current choice),
  ``analytics_events`` (accepted analytics events) and ``analytics_drops`` (how many events
  were dropped for want of consent, per day and reason, without any visitor id);
- correspondence (R9, R10) and complaints (R21): ``correspondence_items`` and
  ``correspondence_messages`` (projections, personal columns as key-ring tokens),
  ``consent_customers`` (contract end per organisation: the R9 clock), deletion requests
  (``correspondence_deletions``, ``correspondence_kept``, ``correspondence_notices``) and
  ``complaints`` (an open complaint is a hold).
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from byggrygg_shared.eventstore import events_table
from byggrygg_shared.inbox import inbox_table
from byggrygg_shared.mail_outbox import mail_outbox_table

METADATA: Final = sa.MetaData()

EVENTS: Final = events_table(METADATA)
INBOX: Final = inbox_table(METADATA)


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


# --- mail ---------------------------------------------------------------------------------

# The transactional mail outbox, as every service that mails has it.
MAIL_OUTBOX: Final = mail_outbox_table(METADATA)

# --- policy versions (R20) ----------------------------------------------------------------

POLICY_VERSIONS: Final = sa.Table(
    "policy_versions",
    METADATA,
    sa.Column("version", sa.Text, primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("text_sha256", sa.Text, nullable=False),
    sa.Column("effective_on", sa.Date, nullable=False, index=True),
    _timestamp("published_at"),
    sa.Column("published_by", sa.Text, nullable=False),
    comment="Projection of PolicyPublished: every privacy-policy version ever published (R20)",
)

# --- newsletter (R8) ----------------------------------------------------------------------

NEWSLETTER_SUBSCRIPTIONS: Final = sa.Table(
    "newsletter_subscriptions",
    METADATA,
    sa.Column("subscription_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_ref", sa.Text, nullable=False, index=True),
    # Name, address and role are cleared when the consent is withdrawn (R8: off the list) or
    # the sign-up expires unconfirmed; the evidence stays, and the event store keeps them as
    # key-ring tokens (shredded for an expired sign-up).
    sa.Column("name", sa.Text, nullable=True),
    sa.Column("email", sa.Text, nullable=True),
    sa.Column("role", sa.Text, nullable=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("wording_sha256", sa.Text, nullable=False),
    sa.Column("method", sa.Text, nullable=True),
    _timestamp("requested_at"),
    _timestamp("confirmed_at", nullable=True),
    _timestamp("withdrawn_at", nullable=True),
    _timestamp("expired_at", nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint(
        "status IN ('pending', 'confirmed', 'withdrawn', 'expired')",
        name="newsletter_subscriptions_status_check",
    ),
    sa.CheckConstraint(
        "status NOT IN ('withdrawn', 'expired') "
        "OR (name IS NULL AND email IS NULL AND role IS NULL)",
        name="newsletter_subscriptions_withdrawn_cleared_check",
    ),
    comment="Projection of newsletter subscriptions and their consent (R8)",
)
# One open (pending or confirmed) subscription per address.
sa.Index(
    "newsletter_subscriptions_open_email_key",
    NEWSLETTER_SUBSCRIPTIONS.c.email,
    unique=True,
    postgresql_where=NEWSLETTER_SUBSCRIPTIONS.c.status.in_(["pending", "confirmed"]),
)

NEWSLETTER_CONFIRMATIONS: Final = sa.Table(
    "newsletter_confirmations",
    METADATA,
    # SHA-256 of the double-opt-in token: the token itself is only in the subscriber's mail.
    sa.Column("token_hash", sa.Text, primary_key=True),
    sa.Column(
        "subscription_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("newsletter_subscriptions.subscription_id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    _timestamp("expires_at"),
    comment="Double-opt-in tokens (hashes only) of unconfirmed subscriptions (R8)",
)

NEWSLETTER_KEY_SHREDS: Final = sa.Table(
    "newsletter_key_shreds",
    METADATA,
    # The pseudonymous key scope of an expired, never-confirmed sign-up (R8), queued in the
    # transaction that recorded the expiry and deleted once the key ring destroyed the key.
    sa.Column("subject_ref", sa.Text, primary_key=True),
    sa.Column(
        "subscription_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("newsletter_subscriptions.subscription_id", ondelete="CASCADE"),
        nullable=False,
    ),
    _timestamp("queued_at"),
    comment="Keys of expired, never-confirmed newsletter sign-ups still to destroy (R8)",
)

# --- cookies and analytics (R11) ----------------------------------------------------------

COOKIE_CHOICES: Final = sa.Table(
    "cookie_choices",
    METADATA,
    # Derived from the visitor cookie by hashing: the cookie value is never stored.
    sa.Column("visitor_ref", sa.Text, primary_key=True),
    sa.Column("analytics", sa.Boolean, nullable=False),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("wording_sha256", sa.Text, nullable=False),
    _timestamp("recorded_at"),
    sa.Column("version", sa.Integer, nullable=False),
    comment="Projection of CookieChoiceRecorded: each visitor's current cookie choice (R11)",
)

ANALYTICS_EVENTS: Final = sa.Table(
    "analytics_events",
    METADATA,
    sa.Column("analytics_event_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("visitor_ref", sa.Text, nullable=False, index=True),
    sa.Column("event_kind", sa.Text, nullable=False),
    sa.Column("page_path", sa.Text, nullable=False),
    _timestamp("received_at"),
    comment="Analytics events of visitors whose current choice includes analytics (R11)",
)

ANALYTICS_DROPS: Final = sa.Table(
    "analytics_drops",
    METADATA,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("reason", sa.Text, primary_key=True),
    sa.Column("dropped", sa.BigInteger, nullable=False),
    sa.CheckConstraint(
        "reason IN ('no_choice', 'analytics_declined')", name="analytics_drops_reason_check"
    ),
    comment="Analytics events dropped for want of consent: counts only, never who (R11)",
)

# --- correspondence (R9, R10) and complaints (R21) ----------------------------------------
# Personal columns hold key-ring tokens (encrypted at rest), each under the key scope of its
# item / request / complaint (``key_ref``): a deleted item's row is gone and its key destroyed.

CONSENT_CUSTOMERS: Final = sa.Table(
    "consent_customers",
    METADATA,
    sa.Column("organisation_id", postgresql.UUID(as_uuid=True), primary_key=True),
    # From identity's ContractEnded: the R9 clock starts here. No row: still a customer.
    sa.Column("contract_ended_on", sa.Date, nullable=True),
    # The contract ended with a legal dispute (R2): its correspondence is held (a legal claim).
    sa.Column("legal_dispute", sa.Boolean, nullable=False, server_default=sa.false()),
    _timestamp("updated_at"),
    comment="Per organisation: when the customer relationship ended (R9 retention clock)",
)

CORRESPONDENCE_ITEMS: Final = sa.Table(
    "correspondence_items",
    METADATA,
    sa.Column("correspondence_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("organisation_id", postgresql.UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("subject_ref", sa.Text, nullable=False, index=True),
    sa.Column("key_ref", sa.Text, nullable=False, unique=True),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("email_address", sa.Text, nullable=True),
    sa.Column("phone_number", sa.Text, nullable=True),
    sa.Column("person_name", sa.Text, nullable=True),
    sa.Column("summary", sa.Text, nullable=True),
    _timestamp("contacted_at", nullable=True),
    _timestamp("logged_at"),
    sa.Column("logged_by", sa.Text, nullable=False),
    # Null while the organisation is a customer; then contract end + N years (R9).
    sa.Column("retain_until", sa.Date, nullable=True, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint("channel IN ('email', 'phone')", name="correspondence_items_channel_check"),
    comment="Projection of correspondence items (R9); a deleted item's row is gone",
)

CORRESPONDENCE_MESSAGES: Final = sa.Table(
    "correspondence_messages",
    METADATA,
    sa.Column("message_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "correspondence_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("correspondence_items.correspondence_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("direction", sa.Text, nullable=False),
    _timestamp("sent_at"),
    sa.Column("message_subject", sa.Text, nullable=False),
    sa.Column("message_text", sa.Text, nullable=False),
    _timestamp("recorded_at"),
    comment="Projection of the messages of e-mail correspondence (R9)",
)

CORRESPONDENCE_DELETIONS: Final = sa.Table(
    "correspondence_deletions",
    METADATA,
    sa.Column("request_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_ref", sa.Text, nullable=False, index=True),
    sa.Column("key_ref", sa.Text, nullable=False),
    # Cleared once the request is completed (the notices are sent): the audit keeps the ref.
    sa.Column("notify_address", sa.Text, nullable=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("deleted_count", sa.Integer, nullable=False),
    sa.Column("kept_count", sa.Integer, nullable=False),
    _timestamp("requested_at"),
    sa.Column("requested_by", sa.Text, nullable=False),
    _timestamp("processed_at", nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint(
        "status IN ('received', 'pending', 'completed')",
        name="correspondence_deletions_status_check",
    ),
    comment="Projection of deletion requests of a person's correspondence (R10)",
)

CORRESPONDENCE_KEPT: Final = sa.Table(
    "correspondence_kept",
    METADATA,
    sa.Column(
        "request_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("correspondence_deletions.request_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("correspondence_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    comment="What a pending deletion request keeps, and why (R10): the latest round",
)

CORRESPONDENCE_NOTICES: Final = sa.Table(
    "correspondence_notices",
    METADATA,
    sa.Column("notice_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "request_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("correspondence_deletions.request_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # Who was told (pseudonymous), when, how many items were kept and why: never the text.
    sa.Column("subject_ref", sa.Text, nullable=False),
    sa.Column("kept_count", sa.Integer, nullable=False),
    sa.Column("reasons", postgresql.ARRAY(sa.Text), nullable=False),
    _timestamp("sent_at"),
    comment="The audit of DeletionNoticeSent: each notice telling a person what was kept (R10)",
)

COMPLAINTS: Final = sa.Table(
    "complaints",
    METADATA,
    sa.Column("complaint_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("organisation_id", postgresql.UUID(as_uuid=True), nullable=True, index=True),
    sa.Column("subject_ref", sa.Text, nullable=False, index=True),
    sa.Column("key_ref", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("concerns", postgresql.ARRAY(sa.Text), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=True),
    sa.Column("resolution_text", sa.Text, nullable=True),
    _timestamp("opened_at"),
    sa.Column("opened_by", sa.Text, nullable=False),
    _timestamp("resolved_at", nullable=True),
    sa.Column("resolved_by", sa.Text, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint("kind IN ('question', 'complaint')", name="complaints_kind_check"),
    sa.CheckConstraint("status IN ('open', 'resolved')", name="complaints_status_check"),
    comment="Projection of questions and complaints (R21); open complaints are holds",
)
