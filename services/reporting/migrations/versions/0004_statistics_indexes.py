"""Covering indexes for the statistics counts (adapters/statistics_store.py).

One question's answers of one organisation and course, and that organisation and course's
enrolments, are read from the index alone (an index-only scan once vacuumed) instead of
every answer of the course and every enrolment. They replace the two indexes on
(organisation_id, course_id), which are their prefixes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 20:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_answers_statistics",
        "answers",
        ["organisation_id", "course_id", "question_id", "enrolment_id"],
        unique=False,
        postgresql_include=["answered_at", "period", "selected_option_ids", "scale_value"],
    )
    op.drop_index("ix_answers_organisation_course_question", table_name="answers")
    op.create_index(
        "ix_enrolments_statistics",
        "enrolments",
        ["organisation_id", "course_id", "enrolment_id"],
        unique=False,
        postgresql_include=["subject_ref", "started_at", "started_period", "completed_at"],
    )
    op.drop_index("ix_enrolments_organisation_course", table_name="enrolments")


def downgrade() -> None:
    op.create_index(
        "ix_enrolments_organisation_course",
        "enrolments",
        ["organisation_id", "course_id"],
        unique=False,
    )
    op.drop_index("ix_enrolments_statistics", table_name="enrolments")
    op.create_index(
        "ix_answers_organisation_course_question",
        "answers",
        ["organisation_id", "course_id"],
        unique=False,
    )
    op.drop_index("ix_answers_statistics", table_name="answers")
