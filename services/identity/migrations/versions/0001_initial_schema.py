"""Initial schema of identity: events, inbox, projections and working state.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("principal_id", sa.UUID(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("principal_id"),
        comment="argon2 password hashes of users and staff; never leave this database",
    )
    op.create_table(
        "events",
        sa.Column("global_position", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("stream_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("event_version", sa.Integer(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("version >= 1", name="events_version_positive"),
        sa.PrimaryKeyConstraint("global_position"),
        sa.UniqueConstraint("stream_id", "version", name="events_stream_version_key"),
        comment="Event store and transactional outbox (published_at IS NULL = not on Kafka yet)",
    )
    op.create_index(
        "events_unpublished_idx",
        "events",
        ["global_position"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
        comment="Events each consumer has applied (idempotent consumption)",
    )
    op.create_table(
        "login_emails",
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("holder_kind", sa.Text(), nullable=False),
        sa.Column("holder_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "holder_kind IN ('invitation', 'user', 'staff')", name="login_emails_holder_kind_check"
        ),
        sa.PrimaryKeyConstraint("email"),
        sa.UniqueConstraint("holder_id"),
        comment="E-mail addresses that can log in or are invited; one holder per address",
    )
    op.create_table(
        "organisations",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("organisation_number", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("street_address", sa.Text(), nullable=False),
        sa.Column("postal_code", sa.Text(), nullable=False),
        sa.Column("city", sa.Text(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("invoice_email", sa.Text(), nullable=False),
        sa.Column("billing_reference", sa.Text(), nullable=True),
        sa.Column("contract_starts_on", sa.Date(), nullable=False),
        sa.Column("contract_ends_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("data_key_ref", sa.Text(), nullable=False),
        sa.Column("billing_key_ref", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('active', 'ended')", name="organisations_status_check"),
        sa.PrimaryKeyConstraint("organisation_id"),
        sa.UniqueConstraint("organisation_number"),
        comment="Projection of the Organisation aggregate (R1)",
    )
    op.create_table(
        "staff_accounts",
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("staff_id"),
        sa.UniqueConstraint("subject_ref"),
        comment="The platform operator's staff (role platform_staff); created by the CLI",
    )
    op.create_table(
        "invitations",
        sa.Column("invitation_id", sa.UUID(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("invited_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.organisation_id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("invitation_id"),
        sa.UniqueConstraint("subject_ref"),
        sa.UniqueConstraint("token_hash"),
        comment="Pending invitations; a person becomes a user on accepting the terms (R3)",
    )
    op.create_table(
        "organisation_people",
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('contact_person', 'org_admin')", name="organisation_people_role_check"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.organisation_id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("subject_ref"),
        sa.UniqueConstraint("organisation_id", "email", name="organisation_people_email_key"),
        comment="Contact persons and administrators of each organisation (R1)",
    )
    op.create_table(
        "retention_claims",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("keep_until", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.organisation_id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("organisation_id", "reason"),
        comment="Reasons to keep data after the contract ended, each with its clock (R2)",
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("gender", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("terms_version", sa.Text(), nullable=False),
        sa.Column("terms_accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('active', 'cancelled')", name="users_status_check"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.organisation_id"],
        ),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("subject_ref"),
        comment="Projection of the User aggregate (R3); the e-mail lives in login_emails",
    )
    op.create_index(op.f("ix_users_organisation_id"), "users", ["organisation_id"], unique=False)
    op.create_table(
        "licences",
        sa.Column("licence_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.Text(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("licence_id"),
        comment="Licences granted to users by their organisation (R6, R7)",
    )
    op.create_index(op.f("ix_licences_user_id"), "licences", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_licences_user_id"), table_name="licences")
    op.drop_table("licences")
    op.drop_index(op.f("ix_users_organisation_id"), table_name="users")
    op.drop_table("users")
    op.drop_table("retention_claims")
    op.drop_table("organisation_people")
    op.drop_table("invitations")
    op.drop_table("staff_accounts")
    op.drop_table("organisations")
    op.drop_table("login_emails")
    op.drop_table("inbox")
    op.drop_index(
        "events_unpublished_idx",
        table_name="events",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("events")
    op.drop_table("credentials")
