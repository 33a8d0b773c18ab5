"""Correspondence (R9, R10) and complaints (R21): items, messages, deletion requests, kept
items, notices, complaints, and per customer the end of its contract (the R9 clock).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:22:40.581730
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
        "complaints",
        sa.Column("complaint_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=True),
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("key_ref", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("concerns", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("resolution_text", sa.Text(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.Text(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('question', 'complaint')", name="complaints_kind_check"),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="complaints_status_check"),
        sa.PrimaryKeyConstraint("complaint_id"),
        comment="Projection of questions and complaints (R21); open complaints are holds",
    )
    op.create_index(
        op.f("ix_complaints_organisation_id"), "complaints", ["organisation_id"], unique=False
    )
    op.create_index(op.f("ix_complaints_subject_ref"), "complaints", ["subject_ref"], unique=False)
    op.create_table(
        "consent_customers",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("contract_ended_on", sa.Date(), nullable=True),
        sa.Column("legal_dispute", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id"),
        comment="Per organisation: when the customer relationship ended (R9 retention clock)",
    )
    op.create_table(
        "correspondence_deletions",
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("key_ref", sa.Text(), nullable=False),
        sa.Column("notify_address", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("deleted_count", sa.Integer(), nullable=False),
        sa.Column("kept_count", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('received', 'pending', 'completed')",
            name="correspondence_deletions_status_check",
        ),
        sa.PrimaryKeyConstraint("request_id"),
        comment="Projection of deletion requests of a person's correspondence (R10)",
    )
    op.create_index(
        op.f("ix_correspondence_deletions_subject_ref"),
        "correspondence_deletions",
        ["subject_ref"],
        unique=False,
    )
    op.create_table(
        "correspondence_items",
        sa.Column("correspondence_id", sa.UUID(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("key_ref", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("email_address", sa.Text(), nullable=True),
        sa.Column("phone_number", sa.Text(), nullable=True),
        sa.Column("person_name", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("logged_by", sa.Text(), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('email', 'phone')", name="correspondence_items_channel_check"
        ),
        sa.PrimaryKeyConstraint("correspondence_id"),
        sa.UniqueConstraint("key_ref"),
        comment="Projection of correspondence items (R9); a deleted item's row is gone",
    )
    op.create_index(
        op.f("ix_correspondence_items_organisation_id"),
        "correspondence_items",
        ["organisation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_correspondence_items_retain_until"),
        "correspondence_items",
        ["retain_until"],
        unique=False,
    )
    op.create_index(
        op.f("ix_correspondence_items_subject_ref"),
        "correspondence_items",
        ["subject_ref"],
        unique=False,
    )
    op.create_table(
        "correspondence_kept",
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("correspondence_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["correspondence_deletions.request_id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("request_id", "correspondence_id"),
        comment="What a pending deletion request keeps, and why (R10): the latest round",
    )
    op.create_table(
        "correspondence_messages",
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("correspondence_id", sa.UUID(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_subject", sa.Text(), nullable=False),
        sa.Column("message_text", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["correspondence_id"], ["correspondence_items.correspondence_id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("message_id"),
        comment="Projection of the messages of e-mail correspondence (R9)",
    )
    op.create_index(
        op.f("ix_correspondence_messages_correspondence_id"),
        "correspondence_messages",
        ["correspondence_id"],
        unique=False,
    )
    op.create_table(
        "correspondence_notices",
        sa.Column("notice_id", sa.UUID(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("kept_count", sa.Integer(), nullable=False),
        sa.Column("reasons", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["correspondence_deletions.request_id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("notice_id"),
        comment="The audit of DeletionNoticeSent: each notice telling a person what was kept (R10)",
    )
    op.create_index(
        op.f("ix_correspondence_notices_request_id"),
        "correspondence_notices",
        ["request_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_correspondence_notices_request_id"), table_name="correspondence_notices")
    op.drop_table("correspondence_notices")
    op.drop_index(
        op.f("ix_correspondence_messages_correspondence_id"), table_name="correspondence_messages"
    )
    op.drop_table("correspondence_messages")
    op.drop_table("correspondence_kept")
    op.drop_index(op.f("ix_correspondence_items_subject_ref"), table_name="correspondence_items")
    op.drop_index(op.f("ix_correspondence_items_retain_until"), table_name="correspondence_items")
    op.drop_index(
        op.f("ix_correspondence_items_organisation_id"), table_name="correspondence_items"
    )
    op.drop_table("correspondence_items")
    op.drop_index(
        op.f("ix_correspondence_deletions_subject_ref"), table_name="correspondence_deletions"
    )
    op.drop_table("correspondence_deletions")
    op.drop_table("consent_customers")
    op.drop_index(op.f("ix_complaints_subject_ref"), table_name="complaints")
    op.drop_index(op.f("ix_complaints_organisation_id"), table_name="complaints")
    op.drop_table("complaints")
