"""Erased learners stay erased: a late LicenceGranted must not re-create them (R6, R16).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erased_learners",
        sa.Column("subject_ref", sa.Text(), primary_key=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        comment="Subjects erased on a privacy request: a licence event arriving late (another "
        "topic, consumer lag) must not bring the learner back (R6, R16)",
    )


def downgrade() -> None:
    op.drop_table("erased_learners")
