"""Operator actions on a request (R13, DESIGN §5): a sub-processor delivery closed by staff
with a written reason, and a request put on hold.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATES = "state IN ('pending', 'delivered', 'confirmed', 'escalated')"
_NEW_STATES = "state IN ('pending', 'delivered', 'confirmed', 'escalated', 'closed')"


def upgrade() -> None:
    op.add_column(
        "subprocessor_deliveries", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("subprocessor_deliveries", sa.Column("close_reason", sa.Text(), nullable=True))
    op.drop_constraint("subprocessor_deliveries_state", "subprocessor_deliveries", type_="check")
    op.create_check_constraint(
        "subprocessor_deliveries_state", "subprocessor_deliveries", _NEW_STATES
    )
    op.add_column("requests", sa.Column("on_hold", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("requests", "on_hold")
    op.execute("UPDATE subprocessor_deliveries SET state = 'escalated' WHERE state = 'closed'")
    op.drop_constraint("subprocessor_deliveries_state", "subprocessor_deliveries", type_="check")
    op.create_check_constraint(
        "subprocessor_deliveries_state", "subprocessor_deliveries", _OLD_STATES
    )
    op.drop_column("subprocessor_deliveries", "close_reason")
    op.drop_column("subprocessor_deliveries", "closed_at")
