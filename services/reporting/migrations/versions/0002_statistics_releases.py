"""Statistics releases: the counts each contact-person statistic was last published from (R5).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:26:00
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
        "statistics_releases",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("statistic", sa.Text(), nullable=False),
        sa.Column("granularity", sa.Text(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "course_id", "statistic", "granularity"),
        comment=(
            "Statistics releases: the counts a contact person's statistic was last published from"
        ),
    )


def downgrade() -> None:
    op.drop_table("statistics_releases")
