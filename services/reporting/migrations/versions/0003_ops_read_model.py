"""Ops read model: the privacy orchestrator's requests and the participants' replies.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 20:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "ops_requests",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("trigger", sa.Text(), nullable=True),
        _timestamp("received_at"),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("deadline_extended", sa.Boolean(), nullable=False),
        sa.Column("on_hold", sa.Boolean(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("participants_answered", sa.Integer(), nullable=False),
        sa.Column("participants_expected", sa.Integer(), nullable=False),
        sa.Column("sub_processors_confirmed", sa.Integer(), nullable=False),
        sa.Column("sub_processors_expected", sa.Integer(), nullable=False),
        _timestamp("changed_at"),
        _timestamp("completed_at", nullable=True),
        _timestamp("in_progress_at", nullable=True),
        sa.PrimaryKeyConstraint("request_id"),
        comment="Read model: the latest state of every data-subject request (RequestStateChanged)",
    )
    op.create_index("ix_ops_requests_state_deadline", "ops_requests", ["state", "deadline"])
    op.create_table(
        "ops_replies",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("participant", sa.Text(), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        _timestamp("replied_at"),
        sa.PrimaryKeyConstraint("request_id", "participant"),
        comment="Read model: when each participant replied to a request (ParticipantReplied)",
    )
    op.create_index("ix_ops_replies_replied_at", "ops_replies", ["replied_at"])


def downgrade() -> None:
    op.drop_index("ix_ops_replies_replied_at", table_name="ops_replies")
    op.drop_table("ops_replies")
    op.drop_index("ix_ops_requests_state_deadline", table_name="ops_requests")
    op.drop_table("ops_requests")
