"""Sub-processors (R12, R13): the register, signed requests and their attempts, verified
callbacks and the webhook replay guard.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subprocessors",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("organisation_number", sa.Text(), nullable=False),
        sa.Column("data_categories", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("agreement_reference", sa.Text(), nullable=False),
        sa.Column("agreement_date", sa.Date(), nullable=False),
        sa.Column("endpoint_url", sa.Text(), nullable=False),
        sa.Column("signing_secret_file", sa.Text(), nullable=False),
        sa.Column("callback_secret_file", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organisation_number"),
        comment="The register of sub-processors (R12): companies, what they receive, agreements",
    )
    op.create_table(
        "subprocessor_deliveries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("subprocessor_id", sa.UUID(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("callback_url", sa.Text(), nullable=False),
        sa.Column("webhook_id", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("escalation_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'confirmed', 'escalated')",
            name="subprocessor_deliveries_state",
        ),
        sa.ForeignKeyConstraint(["subprocessor_id"], ["subprocessors.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "subprocessor_id", "request_id", "action", name="subprocessor_deliveries_once"
        ),
        sa.UniqueConstraint("webhook_id"),
        comment="Signed requests to sub-processors (R13), an outbox sent after commit",
    )
    op.create_index(
        "ix_subprocessor_deliveries_due",
        "subprocessor_deliveries",
        ["state", "next_attempt_at"],
    )
    op.create_index("ix_subprocessor_deliveries_request", "subprocessor_deliveries", ["request_id"])
    op.create_table(
        "subprocessor_delivery_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("delivery_id", sa.UUID(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["subprocessor_deliveries.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id", "attempt", name="subprocessor_delivery_attempts_once"),
        comment="Every HTTP attempt of a sub-processor request: status or error class, outcome",
    )
    op.create_table(
        "subprocessor_confirmations",
        sa.Column("subprocessor_id", sa.UUID(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("webhook_id", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("fields", sa.Integer(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("export", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(["subprocessor_id"], ["subprocessors.id"]),
        sa.PrimaryKeyConstraint("subprocessor_id", "request_id", "action"),
        comment="Verified callbacks of sub-processors confirming a request (R13)",
    )
    op.create_table(
        "webhook_receipts",
        sa.Column("webhook_id", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id"),
        comment="Webhook ids accepted from sub-processors (replay protection, R13)",
    )
    op.create_index("ix_webhook_receipts_received_at", "webhook_receipts", ["received_at"])


def downgrade() -> None:
    op.drop_table("webhook_receipts")
    op.drop_table("subprocessor_confirmations")
    op.drop_table("subprocessor_delivery_attempts")
    op.drop_table("subprocessor_deliveries")
    op.drop_table("subprocessors")
