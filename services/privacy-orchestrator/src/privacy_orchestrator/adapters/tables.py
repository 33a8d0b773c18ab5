"""The orchestrator's database schema as SQLAlchemy metadata: alembic migrates from it, and the
data-inventory test reads it (docs/decisions.md).

- ``completion_records``: the append-only chain of signed completion records (R19). One row per
  request; ``record`` is the canonical JSON text exactly as hashed. A trigger (migration 0001)
  refuses UPDATE, DELETE and TRUNCATE; the hashes and signatures catch whoever gets past it.
- ``record_chain_head``: one row, the last record's sequence and hash. Appends lock it
  (``SELECT ... FOR UPDATE``), so they are serialised and the chain can never fork; an export
  reports it, so a deleted last record shows.

The request workflow (migration 0002):

- ``events`` and ``inbox``: the shared event store as transactional outbox (the privacy
  commands to the participants) and the consumer inbox (replies applied once).
- ``request_events``: the data-subject requests' own history (``domain.request``), in the
  event store's shape but never relayed: the requests are the orchestrator's business.
- ``requests``: the projection of each request (state, deadline, who may read it).
- ``legal_holds``: holds by subject as data (R16): basis, categories, keep-until, released.

Sub-processors (migration 0003, the section at the end):

- ``subprocessors``, ``subprocessor_deliveries``, ``subprocessor_delivery_attempts``,
  ``subprocessor_confirmations`` and ``webhook_receipts``: the register, its signed requests
  (an outbox) and their attempts, and the verified callbacks with their replay guard (R12, R13).
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from byggrygg_shared.eventstore import events_table
from byggrygg_shared.inbox import inbox_table
from byggrygg_shared.mail_outbox import mail_outbox_table
from byggrygg_shared.webhooks import webhook_receipts_table

METADATA: Final = sa.MetaData()

COMPLETION_RECORDS: Final = sa.Table(
    "completion_records",
    METADATA,
    sa.Column("sequence", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("request_id", postgresql.UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("hash", sa.Text, nullable=False, unique=True),
    sa.Column("prev_hash", sa.Text, nullable=False),
    sa.Column("signature", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("sequence >= 1", name="completion_records_sequence_positive"),
    comment="Signed, hash-chained completion records of data-subject requests (R19); append-only",
)

RECORD_CHAIN_HEAD: Final = sa.Table(
    "record_chain_head",
    METADATA,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
    sa.CheckConstraint("id = 1", name="record_chain_head_single_row"),
    comment="The last completion record's sequence and hash; locked by every append",
)

EVENTS: Final = events_table(METADATA)
INBOX: Final = inbox_table(METADATA)

REQUEST_EVENTS: Final = sa.Table(
    "request_events",
    METADATA,
    sa.Column("global_position", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("stream_id", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("event_version", sa.Integer, nullable=False),
    sa.Column("payload", postgresql.JSONB, nullable=False),
    sa.Column("metadata", postgresql.JSONB, nullable=False),
    sa.Column(
        "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")
    ),
    # Always NULL: the event store's shape, but no relay reads this table.
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("stream_id", "version", name="request_events_stream_version_key"),
    sa.CheckConstraint("version >= 1", name="request_events_version_positive"),
    comment="History of the data-subject requests (domain.request); internal, never relayed",
)

REQUESTS: Final = sa.Table(
    "requests",
    METADATA,
    sa.Column("request_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("subject_ref", sa.Text, nullable=False),
    sa.Column("organisation_id", postgresql.UUID(as_uuid=True), nullable=True),
    sa.Column("requested_by_role", sa.Text, nullable=False),
    sa.Column("requested_by", sa.Text, nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deadline", sa.Date, nullable=False),
    sa.Column("participants", postgresql.JSONB, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    # {months, reason, at, by_role} once staff extended the deadline (art. 12(3)); else NULL.
    sa.Column("deadline_extension", postgresql.JSONB, nullable=True),
    # AUTOMATIC requests: the trigger code (licence_revoked, subscription_cancelled, ...).
    sa.Column("trigger", sa.Text, nullable=True),
    # {since, reason, by_role} while staff hold the request (DESIGN §5; migration 0009).
    sa.Column("on_hold", postgresql.JSONB, nullable=True),
    sa.Index("requests_state_deadline_idx", "state", "deadline"),
    comment="Projection of the data-subject requests: state, deadline, readers",
)

LEGAL_HOLDS: Final = sa.Table(
    "legal_holds",
    METADATA,
    sa.Column("hold_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_ref", sa.Text, nullable=False, index=True),
    sa.Column("basis", sa.Text, nullable=False),
    sa.Column("categories", postgresql.ARRAY(sa.Text), nullable=False),
    sa.Column("keep_until", sa.Date, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint(
        "basis IN ('open_complaint', 'legal_dispute', 'outstanding_debt', 'bookkeeping')",
        name="legal_holds_basis_known",
    ),
    comment="Legal holds by subject (R16): data of these categories is kept on this basis",
)

# --- Sub-processors (R12, R13): the register, outgoing requests, verified callbacks ---------
# The register holds companies; secrets stay in files it names (never in the database).
# ``subprocessor_deliveries`` is an outbox: a caller writes a row in its own transaction and
# the delivery worker sends it after commit, retrying with back-off, recording every attempt
# in ``subprocessor_delivery_attempts``; ``subprocessor_confirmations`` holds the verified
# callbacks, written in one transaction with their ``webhook_receipts`` row (replay guard).

SUBPROCESSORS: Final = sa.Table(
    "subprocessors",
    METADATA,
    sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("organisation_number", sa.Text, nullable=False, unique=True),
    sa.Column("data_categories", postgresql.ARRAY(sa.Text), nullable=False),
    sa.Column("agreement_reference", sa.Text, nullable=False),
    sa.Column("agreement_date", sa.Date, nullable=False),
    sa.Column("endpoint_url", sa.Text, nullable=False),
    sa.Column("signing_secret_file", sa.Text, nullable=False),
    sa.Column("callback_secret_file", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    comment="The register of sub-processors (R12): companies, what they receive, agreements",
)

SUBPROCESSOR_DELIVERIES: Final = sa.Table(
    "subprocessor_deliveries",
    METADATA,
    sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "subprocessor_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("subprocessors.id"),
        nullable=False,
    ),
    sa.Column("request_id", postgresql.UUID(as_uuid=True), nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("subject_ref", sa.Text, nullable=False),
    sa.Column("changes", postgresql.JSONB, nullable=True),
    sa.Column("callback_url", sa.Text, nullable=False),
    sa.Column("webhook_id", sa.Text, nullable=False, unique=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("escalation_reason", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
    # Closed by an operator with a written reason (R13; migration 0009).
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("close_reason", sa.Text, nullable=True),
    sa.UniqueConstraint(
        "subprocessor_id", "request_id", "action", name="subprocessor_deliveries_once"
    ),
    sa.CheckConstraint(
        "state IN ('pending', 'delivered', 'confirmed', 'escalated', 'closed')",
        name="subprocessor_deliveries_state",
    ),
    sa.Index("ix_subprocessor_deliveries_due", "state", "next_attempt_at"),
    sa.Index("ix_subprocessor_deliveries_request", "request_id"),
    comment="Signed requests to sub-processors (R13), an outbox sent after commit",
)

SUBPROCESSOR_DELIVERY_ATTEMPTS: Final = sa.Table(
    "subprocessor_delivery_attempts",
    METADATA,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "delivery_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("subprocessor_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.UniqueConstraint("delivery_id", "attempt", name="subprocessor_delivery_attempts_once"),
    comment="Every HTTP attempt of a sub-processor request: status or error class, outcome",
)

SUBPROCESSOR_CONFIRMATIONS: Final = sa.Table(
    "subprocessor_confirmations",
    METADATA,
    sa.Column(
        "subprocessor_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("subprocessors.id"),
        primary_key=True,
    ),
    sa.Column("request_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("action", sa.Text, primary_key=True),
    sa.Column("webhook_id", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("fields", sa.Integer, nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("export", postgresql.JSONB, nullable=True),
    comment="Verified callbacks of sub-processors confirming a request (R13)",
)

WEBHOOK_RECEIPTS: Final = webhook_receipts_table(METADATA)

# --- Automatic triggers and retention clocks (R2, R6, art. 28(3)(g); migration 0005) ---------
# ``automatic_erasures``: one row per trigger (an identity event, or a contract end and one of
# its subjects) that asked for an erasure; its key makes filing idempotent, and it names the
# request filed, or the open erasure that already covered the subject.
# ``organisation_subjects``: the subjects (pseudonyms only) of each organisation, from
# identity's user topic, so a contract end knows whose data to erase; a subject leaves it when
# identity reports them erased.
# ``contract_ends``: an organisation's contract end as data: the controller's export offer
# (until ``offer_until``, art. 28(3)(g)), the retention claims (R2) and the erasure's progress
# (``cursor``: the last subject filed, so a restarted scheduler resumes where it committed).

AUTOMATIC_ERASURES: Final = sa.Table(
    "automatic_erasures",
    METADATA,
    sa.Column("trigger_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("trigger", sa.Text, nullable=False),
    sa.Column("request_id", postgresql.UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("filed", sa.Boolean, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    comment="Triggers of automatic erasures (R2, R6): each files at most one request",
)

ORGANISATION_SUBJECTS: Final = sa.Table(
    "organisation_subjects",
    METADATA,
    sa.Column("organisation_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_ref", sa.Text, primary_key=True),
    sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
    # Identity's token of the person's login e-mail, under the subject's key (migration 0010):
    # where an automatic erasure tells them what was kept (R10). Unreadable once shredded.
    sa.Column("email_token", sa.Text, nullable=True),
    sa.Index("ix_organisation_subjects_subject_ref", "subject_ref"),
    comment="The subjects of each organisation (pseudonyms only), for its contract end (R6)",
)

# ``organisation_contacts`` (migration 0011): each organisation's contact persons with
# identity's token of their e-mail (under their own key), to tell the controller of its export
# offer; deleted when the person is erased or the contract end's erasures are all filed.
ORGANISATION_CONTACTS: Final = sa.Table(
    "organisation_contacts",
    METADATA,
    sa.Column("organisation_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_ref", sa.Text, primary_key=True),
    sa.Column("email_token", sa.Text, nullable=False),
    sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_organisation_contacts_subject_ref", "subject_ref"),
    comment="The contact persons of each organisation, told of its export offer",
)

CONTRACT_ENDS: Final = sa.Table(
    "contract_ends",
    METADATA,
    sa.Column("contract_end_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("organisation_id", postgresql.UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("ended_on", sa.Date, nullable=False),
    sa.Column("retention", postgresql.JSONB, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("offer_until", sa.DateTime(timezone=True), nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("offer_ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("offer_outcome", sa.Text, nullable=True),
    sa.Column("cursor", sa.Text, nullable=True),
    sa.Column("filed", sa.Integer, nullable=False),
    sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
    # When the contact persons were reminded that the offer ends (migration 0011).
    sa.Column("offer_reminded_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint(
        "state IN ('export_offered', 'erasing', 'erasure_filed')", name="contract_ends_state"
    ),
    sa.CheckConstraint(
        "offer_outcome IS NULL OR offer_outcome IN ('expired', 'declined')",
        name="contract_ends_offer_outcome",
    ),
    sa.Index("ix_contract_ends_due", "state", "offer_until"),
    comment="Contract ends (R2, R6): the controller's export offer, then the erasure's progress",
)

# An automatic erasure is not filed while one for the subject is open: found by subject.
sa.Index("ix_requests_subject_ref", REQUESTS.c.subject_ref)

# --- Access export (R14, DESIGN §5; migration 0006) --------
# ``export_parts``: each participant's (or sub-processor's) part of an access export, the
# key-ring token exactly as received, until the request completes and the export is assembled.
# ``access_exports``: the one assembled JSON document, itself a key-ring token under the
# subject's key (unreadable once the key is shredded), until ``expires_at``; then deleted.

EXPORT_PARTS: Final = sa.Table(
    "export_parts",
    METADATA,
    sa.Column("request_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("participant", sa.Text, primary_key=True),
    sa.Column("export_token", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, index=True),
    comment="Parts of access exports (R14) as key-ring tokens, until the export is assembled",
)

ACCESS_EXPORTS: Final = sa.Table(
    "access_exports",
    METADATA,
    sa.Column("request_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("download_count", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("last_downloaded_at", sa.DateTime(timezone=True), nullable=True),
    comment="Assembled access exports (R14), encrypted under the subject's key, until expiry",
)

# --- Notices to the person (R10; migration 0007) -----------------
# ``mail_outbox``: the shared transactional mail outbox (byggrygg_shared.mail_outbox).
# ``request_notices``: the address a request asked to be told at (``notify_email``), a key-ring
# token under the request's own key scope ``key_ref`` (not the subject's key, which the
# participants shred), until the request ends: then the notice is queued (``mail_id``) or not
# needed, the token is cleared and the scope destroyed.

MAIL_OUTBOX: Final = mail_outbox_table(METADATA)

REQUEST_NOTICES: Final = sa.Table(
    "request_notices",
    METADATA,
    sa.Column("request_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("key_ref", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=True),
    sa.Column("mail_id", postgresql.UUID(as_uuid=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    # An ended request keeps no address (the scope is destroyed too).
    sa.CheckConstraint(
        "ended_at IS NULL OR address IS NULL", name="request_notices_ended_minimised"
    ),
    comment="Where to tell the person about kept data (R10), until the request ends",
)

# --- Organisation export at a contract end (art. 28(3)(g); migration 0008) ------------------
# ``organisation_exports``: that the controller asked for its organisation's
# data during the export offer (one row per organisation), how many access requests were filed
# and when the last was. ``organisation_export_requests``: which access requests belong to it
# (the subject is the request's own ``requests.subject_ref``: no subject ref is copied here).

ORGANISATION_EXPORTS: Final = sa.Table(
    "organisation_exports",
    METADATA,
    sa.Column("organisation_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("contract_end_id", postgresql.UUID(as_uuid=True), nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("requested_by_role", sa.Text, nullable=False),
    sa.Column("filed", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
    comment="Organisation exports asked for during a contract end's offer (art. 28(3)(g))",
)

ORGANISATION_EXPORT_REQUESTS: Final = sa.Table(
    "organisation_export_requests",
    METADATA,
    sa.Column("request_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("organisation_id", postgresql.UUID(as_uuid=True), nullable=False, index=True),
    comment="The access requests of an organisation export, one per subject",
)
