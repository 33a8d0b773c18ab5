"""Initial schema of reporting: events (participant replies), inbox, the read models of
courses' catalogue and enrolment topics, and the erased pseudonyms.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 19:21:41.070899
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "answers",
        sa.Column("enrolment_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("course_version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("selected_option_ids", postgresql.ARRAY(sa.Uuid()), nullable=True),
        sa.Column("scale_value", sa.Integer(), nullable=True),
        sa.Column("free_text_token", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("enrolment_id", "question_id"),
        comment="Read model: the last answer per enrolment and question (AnswerSubmitted)",
    )
    op.create_index(
        "ix_answers_organisation_course_question",
        "answers",
        ["organisation_id", "course_id"],
        unique=False,
    )
    op.create_table(
        "course_assignments",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("course_id", "organisation_id"),
        comment="Read model: which organisation was assigned which course (CourseAssigned)",
    )
    op.create_table(
        "course_questions",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("course_version", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("module_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("scale_low", sa.Integer(), nullable=True),
        sa.Column("scale_high", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("course_id", "course_version", "question_id"),
        comment="Read model: the questions of every published course version (CoursePublished)",
    )
    op.create_table(
        "courses",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("course_id"),
        comment="Read model: every course of courses' catalogue; published_version is the newest",
    )
    op.create_table(
        "enrolments",
        sa.Column("enrolment_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("course_version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("subject_ref", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_period", sa.Date(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_period", sa.Date(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("unlinked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("enrolment_id"),
        comment="Read model: one learner in one course (EnrolmentStarted, CourseCompleted, ...)",
    )
    op.create_index(
        "ix_enrolments_organisation_course",
        "enrolments",
        ["organisation_id", "course_id"],
        unique=False,
    )
    op.create_index("ix_enrolments_subject_ref", "enrolments", ["subject_ref"], unique=False)
    op.create_table(
        "erased_subjects",
        sa.Column("subject_ref", sa.Text(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_ref"),
        comment="Pseudonyms erased on request: a replayed or late event never re-links them (R16)",
    )
    op.create_table(
        "events",
        sa.Column("global_position", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("stream_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("event_version", sa.Integer(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("version >= 1", name="events_version_positive"),
        sa.PrimaryKeyConstraint("global_position"),
        sa.UniqueConstraint("stream_id", "version", name="events_stream_version_key"),
        comment="Event store and transactional outbox (published_at IS NULL = not on Kafka yet)",
    )
    op.create_index(
        "events_unpublished_idx",
        "events",
        ["global_position"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
        comment="Events each consumer has applied (idempotent consumption)",
    )
    op.create_table(
        "question_options",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("course_version", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("option_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("course_id", "course_version", "question_id", "option_id"),
        comment="Read model: the answer options of every published question",
    )


def downgrade() -> None:
    op.drop_table("question_options")
    op.drop_table("inbox")
    op.drop_index(
        "events_unpublished_idx",
        table_name="events",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("events")
    op.drop_table("erased_subjects")
    op.drop_index("ix_enrolments_subject_ref", table_name="enrolments")
    op.drop_index("ix_enrolments_organisation_course", table_name="enrolments")
    op.drop_table("enrolments")
    op.drop_table("courses")
    op.drop_table("course_questions")
    op.drop_table("course_assignments")
    op.drop_index("ix_answers_organisation_course_question", table_name="answers")
    op.drop_table("answers")
