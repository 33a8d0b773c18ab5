"""Identity's database schema as SQLAlchemy metadata: alembic migrates from it, and the
data-inventory test reads it to find undeclared personal columns (docs/decisions.md).

The event store (source of truth and outbox) and the inbox come from the shared library. Every
other table is a projection or working state updated in the same transaction as the events:

- projections for queries and uniqueness: ``organisations``, ``retention_claims``,
  ``organisation_people``, ``users``, ``licences``;
- ``login_emails``: one row per e-mail that can log in or has been invited. Its primary key is
  the uniqueness rule (one account per address, across users, invitations and staff). The
  address is stored in plain text here and only here for users (deleted on erasure); events
  carry it as a key-ring token.
- working state that never leaves the service and is not event-sourced: ``credentials``
  (argon2 hashes must not travel through Kafka), ``invitations`` (a one-time token hash), and
  ``staff_accounts`` (the operator's own staff, not customers' users).
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from byggrygg_shared.eventstore import events_table
from byggrygg_shared.inbox import inbox_table

METADATA: Final = sa.MetaData()

EVENTS: Final = events_table(METADATA)
INBOX: Final = inbox_table(METADATA)

# The privacy participant's evidence counts a subject's events by their envelope's subject
# (``service_layer.privacy_commands``). Without this index every erasure read the whole store:
# a contract end's cost grew with the square of its users.
sa.Index("events_subject_ref_idx", EVENTS.c.metadata["subject_ref"].astext)


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


ORGANISATIONS: Final = sa.Table(
    "organisations",
    METADATA,
    sa.Column("organisation_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("organisation_number", sa.Text, nullable=False, unique=True),
    sa.Column("phone", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("street_address", sa.Text, nullable=False),
    sa.Column("postal_code", sa.Text, nullable=False),
    sa.Column("city", sa.Text, nullable=False),
    sa.Column("country", sa.Text, nullable=False),
    sa.Column("invoice_email", sa.Text, nullable=False),
    sa.Column("billing_reference", sa.Text, nullable=True),
    sa.Column("contract_starts_on", sa.Date, nullable=False),
    sa.Column("contract_ends_on", sa.Date, nullable=True),
    sa.Column("ended_on", sa.Date, nullable=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("data_key_ref", sa.Text, nullable=False),
    sa.Column("billing_key_ref", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    _timestamp("registered_at"),
    # R2's clocks: set when that part of an ended customer's data was erased.
    sa.Column("contact_details_erased_on", sa.Date, nullable=True),
    sa.Column("payment_information_erased_on", sa.Date, nullable=True),
    sa.CheckConstraint("status IN ('active', 'ended')", name="organisations_status_check"),
    sa.Index(
        "ix_organisations_retention_pending",
        "ended_on",
        postgresql_where=sa.text(
            "status = 'ended' AND (contact_details_erased_on IS NULL "
            "OR payment_information_erased_on IS NULL)"
        ),
    ),
    comment="Projection of the Organisation aggregate (R1)",
)

RETENTION_CLAIMS: Final = sa.Table(
    "retention_claims",
    METADATA,
    sa.Column(
        "organisation_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("organisations.organisation_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("reason", sa.Text, primary_key=True),
    sa.Column("keep_until", sa.Date, nullable=True),
    _timestamp("recorded_at"),
    sa.Column("settled_on", sa.Date, nullable=True),
    sa.Column("settled_by", sa.Text, nullable=True),
    comment="Reasons to keep data after the contract ended, each with its clock (R2)",
)

ORGANISATION_PEOPLE: Final = sa.Table(
    "organisation_people",
    METADATA,
    sa.Column("subject_ref", sa.Text, primary_key=True),
    sa.Column(
        "organisation_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("organisations.organisation_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("phone", sa.Text, nullable=True),
    _timestamp("listed_at"),
    sa.UniqueConstraint("organisation_id", "email", name="organisation_people_email_key"),
    sa.CheckConstraint(
        "role IN ('contact_person', 'org_admin')", name="organisation_people_role_check"
    ),
    comment="Contact persons and administrators of each organisation (R1)",
)

USERS: Final = sa.Table(
    "users",
    METADATA,
    sa.Column("user_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_ref", sa.Text, nullable=False, unique=True),
    sa.Column(
        "organisation_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("organisations.organisation_id"),
        nullable=False,
        index=True,
    ),
    sa.Column("roles", postgresql.ARRAY(sa.Text), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("phone", sa.Text, nullable=True),
    sa.Column("gender", sa.Text, nullable=True),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("terms_version", sa.Text, nullable=False),
    _timestamp("terms_accepted_at"),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    _timestamp("updated_at"),
    sa.CheckConstraint("status IN ('active', 'cancelled')", name="users_status_check"),
    comment="Projection of the User aggregate (R3); the e-mail lives in login_emails",
)

LICENCES: Final = sa.Table(
    "licences",
    METADATA,
    sa.Column("licence_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "user_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("users.user_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("organisation_id", postgresql.UUID(as_uuid=True), nullable=False),
    _timestamp("granted_at"),
    sa.Column("granted_by", sa.Text, nullable=False),
    _timestamp("revoked_at", nullable=True),
    sa.Column("revoked_by", sa.Text, nullable=True),
    comment="Licences granted to users by their organisation (R6, R7)",
)

LOGIN_EMAILS: Final = sa.Table(
    "login_emails",
    METADATA,
    # Normalised (trimmed, lower case); the primary key is the uniqueness rule.
    sa.Column("email", sa.Text, primary_key=True),
    sa.Column("holder_kind", sa.Text, nullable=False),
    sa.Column("holder_id", postgresql.UUID(as_uuid=True), nullable=False, unique=True),
    sa.CheckConstraint(
        "holder_kind IN ('invitation', 'user', 'staff')", name="login_emails_holder_kind_check"
    ),
    comment="E-mail addresses that can log in or are invited; one holder per address",
)

CREDENTIALS: Final = sa.Table(
    "credentials",
    METADATA,
    sa.Column("principal_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    _timestamp("updated_at"),
    comment="argon2 password hashes of users and staff; never leave this database",
)

INVITATIONS: Final = sa.Table(
    "invitations",
    METADATA,
    sa.Column("invitation_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "organisation_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("organisations.organisation_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("subject_ref", sa.Text, nullable=False, unique=True),
    sa.Column("roles", postgresql.ARRAY(sa.Text), nullable=False),
    # SHA-256 of the one-time token: the token itself is only ever in the invitee's hands.
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("invited_by", sa.Text, nullable=False),
    _timestamp("created_at"),
    _timestamp("expires_at"),
    comment="Pending invitations; a person becomes a user on accepting the terms (R3)",
)

STAFF_ACCOUNTS: Final = sa.Table(
    "staff_accounts",
    METADATA,
    sa.Column("staff_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_ref", sa.Text, nullable=False, unique=True),
    _timestamp("created_at"),
    comment="The platform operator's staff (role platform_staff); created by the CLI",
)
