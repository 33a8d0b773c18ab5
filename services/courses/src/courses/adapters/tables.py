"""Courses' database schema as SQLAlchemy metadata: alembic migrates from it, and the
data-inventory test reads it to find undeclared personal columns (docs/decisions.md).

The event store (source of truth and outbox) and the inbox come from the shared library. The
other tables are projections updated in the transaction that appends the events, except
``learners``, which is courses' view of identity's licence events (kept by the consumer, in
the transaction of its inbox claim):

- catalogue: ``courses`` (with the current draft), ``course_versions`` (immutable published
  versions), ``course_assignments`` (which organisation's learners get which course);
- learning: ``learners``, ``erased_learners`` (subjects erased on request, so a late licence
  event never re-creates them), ``enrolments`` (with progress counters), ``answers`` (the last
  answer per question; free text is a key-ring token here too, never plaintext at rest; an
  erased learner's answers stay, anonymised: random ``enrolment_id`` and ``subject_ref``, no
  free text, the day of ``answered_at`` only).
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from byggrygg_shared.eventstore import events_table
from byggrygg_shared.inbox import inbox_table

METADATA: Final = sa.MetaData()

EVENTS: Final = events_table(METADATA)
INBOX: Final = inbox_table(METADATA)

# The privacy participant's evidence counts a learner's answer events by their payload's
# subject (``service_layer.privacy_commands``). Without this index every erasure read the
# whole store: a contract end's cost grew with the square of its learners.
sa.Index("events_type_subject_ref_idx", EVENTS.c.event_type, EVENTS.c.payload["subject_ref"].astext)


def _uuid(name: str, *args: sa.ForeignKey, **kwargs: Any) -> sa.Column[object]:
    return sa.Column(name, postgresql.UUID(as_uuid=True), *args, **kwargs)


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


COURSES: Final = sa.Table(
    "courses",
    METADATA,
    _uuid("course_id", primary_key=True),
    # The draft: {"title", "description", "modules"} in the contracts' JSON shape.
    sa.Column("draft", postgresql.JSONB, nullable=False),
    sa.Column("latest_version", sa.Integer, nullable=True),
    sa.Column("draft_is_published", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    _timestamp("created_at"),
    _timestamp("updated_at"),
    comment="Projection of the Course aggregate: the current draft and the latest version",
)

COURSE_VERSIONS: Final = sa.Table(
    "course_versions",
    METADATA,
    _uuid("course_id", sa.ForeignKey("courses.course_id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    # {"title", "description", "modules"}: immutable once published.
    sa.Column("content", postgresql.JSONB, nullable=False),
    sa.Column("question_count", sa.Integer, nullable=False),
    sa.Column("required_count", sa.Integer, nullable=False),
    _timestamp("published_at"),
    sa.Column("published_by", sa.Text, nullable=False),
    comment="Published versions of each course; learners take one of these",
)

COURSE_ASSIGNMENTS: Final = sa.Table(
    "course_assignments",
    METADATA,
    _uuid("course_id", sa.ForeignKey("courses.course_id"), primary_key=True),
    _uuid("organisation_id", primary_key=True),
    _timestamp("assigned_at"),
    sa.Column("assigned_by", sa.Text, nullable=False),
    sa.Index("course_assignments_organisation_idx", "organisation_id"),
    comment="Courses assigned to an organisation: its licensed learners are enrolled",
)

LEARNERS: Final = sa.Table(
    "learners",
    METADATA,
    _uuid("user_id", primary_key=True),
    sa.Column("subject_ref", sa.Text, nullable=False, unique=True),
    _uuid("organisation_id", nullable=False, index=True),
    _uuid("licence_id", nullable=True),
    sa.Column("status", sa.Text, nullable=False),
    _timestamp("licensed_at"),
    _timestamp("ended_at", nullable=True),
    sa.Column("end_reason", sa.Text, nullable=True),
    sa.CheckConstraint("status IN ('licensed', 'ended')", name="learners_status_check"),
    comment="Users of identity who hold (or held) a licence: who may take courses (R6)",
)

ERASED_LEARNERS: Final = sa.Table(
    "erased_learners",
    METADATA,
    sa.Column("subject_ref", sa.Text, primary_key=True),
    _timestamp("erased_at"),
    comment="Subjects erased on a privacy request: a licence event arriving late (another "
    "topic, consumer lag) must not bring the learner back (R6, R16)",
)

ENROLMENTS: Final = sa.Table(
    "enrolments",
    METADATA,
    _uuid("enrolment_id", primary_key=True),
    _uuid("course_id", nullable=False),
    sa.Column("course_version", sa.Integer, nullable=False),
    _uuid("user_id", nullable=False, index=True),
    sa.Column("subject_ref", sa.Text, nullable=False),
    _uuid("organisation_id", nullable=False, index=True),
    sa.Column("origin", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("answered_count", sa.Integer, nullable=False),
    sa.Column("question_count", sa.Integer, nullable=False),
    sa.Column("required_count", sa.Integer, nullable=False),
    _timestamp("started_at"),
    _timestamp("completed_at", nullable=True),
    _timestamp("ended_at", nullable=True),
    sa.Column("end_reason", sa.Text, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.ForeignKeyConstraint(
        ["course_id", "course_version"], ["course_versions.course_id", "course_versions.version"]
    ),
    sa.CheckConstraint(
        "status IN ('active', 'completed', 'ended')", name="enrolments_status_check"
    ),
    # One enrolment per learner and course while access lasts: the last word on duplicates
    # (a consumer and an administrator enrolling at the same moment).
    sa.Index(
        "enrolments_one_open_per_course",
        "user_id",
        "course_id",
        unique=True,
        postgresql_where=sa.text("status <> 'ended'"),
    ),
    comment="Projection of the Enrolment aggregate, with progress counters",
)

ANSWERS: Final = sa.Table(
    "answers",
    METADATA,
    # No foreign key to enrolments: an erased learner's answers outlive their enrolment,
    # anonymised under a new random id here (R16, migration 0002).
    _uuid("enrolment_id", primary_key=True),
    _uuid("question_id", primary_key=True),
    _uuid("course_id", nullable=False),
    sa.Column("course_version", sa.Integer, nullable=False),
    _uuid("organisation_id", nullable=False),
    sa.Column("subject_ref", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("selected_option_ids", postgresql.ARRAY(postgresql.UUID(as_uuid=True))),
    sa.Column("scale_value", sa.Integer, nullable=True),
    # A key-ring token (enc:v1:...) under subject_ref's key, never plaintext.
    sa.Column("free_text", sa.Text, nullable=True),
    sa.Column("submissions", sa.Integer, nullable=False),
    _timestamp("answered_at"),
    sa.Index("answers_course_idx", "course_id", "organisation_id"),
    comment="Last answer per enrolment and question (R3); for staff only (R4)",
)
