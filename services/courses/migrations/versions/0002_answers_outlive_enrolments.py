"""Answers outlive their enrolment: an erased learner's answers stay, anonymised (R16).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("answers_enrolment_id_fkey", "answers", type_="foreignkey")


def downgrade() -> None:
    # Anonymised answers have no enrolment: they cannot be linked again.
    op.execute(
        sa.text(
            "DELETE FROM answers a WHERE NOT EXISTS "
            "(SELECT 1 FROM enrolments e WHERE e.enrolment_id = a.enrolment_id)"
        )
    )
    op.create_foreign_key(
        "answers_enrolment_id_fkey",
        "answers",
        "enrolments",
        ["enrolment_id"],
        ["enrolment_id"],
        ondelete="CASCADE",
    )
