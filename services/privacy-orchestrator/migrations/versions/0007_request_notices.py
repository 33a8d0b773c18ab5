"""Notices to the person (R10): the shared mail outbox and each request's notify address
(a key-ring token under the request's own key scope) until the request ends.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The same table as every service's mail outbox (byggrygg_shared.mail_outbox).
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
        "request_notices",
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("key_ref", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("mail_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "ended_at IS NULL OR address IS NULL", name="request_notices_ended_minimised"
        ),
        sa.PrimaryKeyConstraint("request_id"),
        comment="Where to tell the person about kept data (R10), until the request ends",
    )


def downgrade() -> None:
    op.drop_table("request_notices")
    op.drop_index("mail_outbox_due_idx", table_name="mail_outbox")
    op.drop_index(op.f("ix_mail_outbox_subject_ref"), table_name="mail_outbox")
    op.drop_table("mail_outbox")
