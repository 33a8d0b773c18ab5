"""Ops read model: when each party of a request (participant, sub-processor) was asked and
responded, from ``RequestStateChanged.response_times``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 20:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "ops_response_times",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("party_kind", sa.Text(), nullable=False),
        sa.Column("party", sa.Text(), nullable=False),
        _timestamp("asked_at"),
        _timestamp("responded_at", nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        _timestamp("changed_at"),
        sa.PrimaryKeyConstraint("request_id", "party_kind", "party"),
        comment="Read model: when each party of a request was asked and responded "
        "(RequestStateChanged.response_times)",
    )
    op.create_index(
        "ix_ops_response_times_kind_responded",
        "ops_response_times",
        ["party_kind", "responded_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_ops_response_times_kind_responded", table_name="ops_response_times")
    op.drop_table("ops_response_times")
