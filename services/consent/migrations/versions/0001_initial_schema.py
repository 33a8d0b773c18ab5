"""Initial schema of consent: events, inbox, mail outbox, policy versions, newsletter,
cookie choices and analytics.

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
        "analytics_drops",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("dropped", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "reason IN ('no_choice', 'analytics_declined')", name="analytics_drops_reason_check"
        ),
        sa.PrimaryKeyConstraint("day", "reason"),
        comment="Analytics events dropped for want of consent: counts only, never who (R11)",
    )
    op.create_table(
        "analytics_events",
        sa.Column("analytics_event_id", sa.UUID(), nullable=False),
        sa.Column("visitor_ref", sa.Text(), nullable=False),
        sa.Column("event_kind", sa.Text(), nullable=False),
        sa.Column("page_path", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("analytics_event_id"),
        comment="Analytics events of visitors whose current choice includes analytics (R11)",
    )
    op.create_index(
        op.f("ix_analytics_events_visitor_ref"), "analytics_events", ["visitor_ref"], unique=False
    )
    op.create_table(
        "cookie_choices",
        sa.Column("visitor_ref", sa.Text(), nullable=False),
        sa.Column("analytics", sa.Boolean(), nullable=False),
        sa.Column("policy_version", sa.Text(), nullable=False),
        sa.Column("wording_sha256", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("visitor_ref"),
        comment="Projection of CookieChoiceRecorded: each visitor's current cookie choice (R11)",
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
        "mail_outbox",
        sa.Column("mail_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=True),
        sa.Column("recipient", sa.Text(), nullable=True),
        sa.Column("subject_line", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column(
            "headers",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status = 'pending' OR (recipient IS NULL AND body IS NULL)",
            name="mail_outbox_minimised_check",
        ),
        sa.CheckConstraint("status IN ('pending', 'sent')", name="mail_outbox_status_check"),
        sa.PrimaryKeyConstraint("mail_id"),
        comment="Transactional mail outbox: written with the change that causes the mail",
    )
    op.create_index(
        op.f("ix_mail_outbox_subject_ref"), "mail_outbox", ["subject_ref"], unique=False
    )
    op.create_index(
        "mail_outbox_due_idx",
        "mail_outbox",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "newsletter_subscriptions",
        sa.Column("subscription_id", sa.UUID(), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("policy_version", sa.Text(), nullable=False),
        sa.Column("wording_sha256", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status <> 'withdrawn' OR (name IS NULL AND email IS NULL AND role IS NULL)",
            name="newsletter_subscriptions_withdrawn_cleared_check",
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'withdrawn')",
            name="newsletter_subscriptions_status_check",
        ),
        sa.PrimaryKeyConstraint("subscription_id"),
        comment="Projection of newsletter subscriptions and their consent (R8)",
    )
    op.create_index(
        op.f("ix_newsletter_subscriptions_subject_ref"),
        "newsletter_subscriptions",
        ["subject_ref"],
        unique=False,
    )
    op.create_index(
        "newsletter_subscriptions_open_email_key",
        "newsletter_subscriptions",
        ["email"],
        unique=True,
        postgresql_where=sa.text("status IN ('pending', 'confirmed')"),
    )
    op.create_table(
        "policy_versions",
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.Text(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
        comment="Projection of PolicyPublished: every privacy-policy version ever published (R20)",
    )
    op.create_index(
        op.f("ix_policy_versions_effective_on"), "policy_versions", ["effective_on"], unique=False
    )
    op.create_table(
        "newsletter_confirmations",
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("subscription_id", sa.UUID(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["newsletter_subscriptions.subscription_id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash"),
        sa.UniqueConstraint("subscription_id"),
        comment="Unexpired double-opt-in tokens (hashes only) of pending subscriptions (R8)",
    )


def downgrade() -> None:
    op.drop_table("newsletter_confirmations")
    op.drop_index(op.f("ix_policy_versions_effective_on"), table_name="policy_versions")
    op.drop_table("policy_versions")
    op.drop_index(
        "newsletter_subscriptions_open_email_key",
        table_name="newsletter_subscriptions",
        postgresql_where=sa.text("status IN ('pending', 'confirmed')"),
    )
    op.drop_index(
        op.f("ix_newsletter_subscriptions_subject_ref"), table_name="newsletter_subscriptions"
    )
    op.drop_table("newsletter_subscriptions")
    op.drop_index(
        "mail_outbox_due_idx",
        table_name="mail_outbox",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(op.f("ix_mail_outbox_subject_ref"), table_name="mail_outbox")
    op.drop_table("mail_outbox")
    op.drop_table("inbox")
    op.drop_index(
        "events_unpublished_idx",
        table_name="events",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("events")
    op.drop_table("cookie_choices")
    op.drop_index(op.f("ix_analytics_events_visitor_ref"), table_name="analytics_events")
    op.drop_table("analytics_events")
    op.drop_table("analytics_drops")
