"""The request workflow with sub-processors (R13) and extended deadlines (art. 12(3)): the
projection of a request shows whether and why its deadline was extended, and which trigger
filed an automatic request (R2, R6).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "requests",
        sa.Column("deadline_extension", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("requests", sa.Column("trigger", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("requests", "trigger")
    op.drop_column("requests", "deadline_extension")
