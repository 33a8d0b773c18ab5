"""The request workflow: event store and outbox (commands), inbox (replies), the requests'
own history, their projection, and legal holds as data.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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
        "legal_holds",
        sa.Column("hold_id", sa.UUID(), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("categories", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("keep_until", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "basis IN ('open_complaint', 'legal_dispute', 'outstanding_debt', 'bookkeeping')",
            name="legal_holds_basis_known",
        ),
        sa.PrimaryKeyConstraint("hold_id"),
        comment="Legal holds by subject (R16): data of these categories is kept on this basis",
    )
    op.create_index(
        op.f("ix_legal_holds_subject_ref"), "legal_holds", ["subject_ref"], unique=False
    )
    op.create_table(
        "request_events",
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
        sa.CheckConstraint("version >= 1", name="request_events_version_positive"),
        sa.PrimaryKeyConstraint("global_position"),
        sa.UniqueConstraint("stream_id", "version", name="request_events_stream_version_key"),
        comment="History of the data-subject requests (domain.request); internal, never relayed",
    )
    op.create_table(
        "requests",
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=True),
        sa.Column("requested_by_role", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("participants", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
        comment="Projection of the data-subject requests: state, deadline, readers",
    )
    op.create_index("requests_state_deadline_idx", "requests", ["state", "deadline"], unique=False)


def downgrade() -> None:
    op.drop_index("requests_state_deadline_idx", table_name="requests")
    op.drop_table("requests")
    op.drop_table("request_events")
    op.drop_index(op.f("ix_legal_holds_subject_ref"), table_name="legal_holds")
    op.drop_table("legal_holds")
    op.drop_table("inbox")
    op.drop_index(
        "events_unpublished_idx",
        table_name="events",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("events")
