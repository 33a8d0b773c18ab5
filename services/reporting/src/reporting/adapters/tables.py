"""Reporting's database schema as SQLAlchemy metadata: alembic migrates from it, and the
data-inventory test reads it to find undeclared personal columns (docs/decisions.md).

The event store (reporting's participant replies go out through it) and the inbox come from
the shared library. The read models (``READ_MODELS``) are projections of courses' topics,
rebuildable from offset zero (``service_layer.rebuild``):

- catalogue: ``courses`` (title, newest published version), ``course_questions`` and
  ``question_options`` (the structure of every published version), ``course_assignments``
  (which organisation has which course);
- enrolments: ``enrolments`` (one learner in one course: organisation, periods, completion;
  ``subject_ref`` is the only link to the person and erasure cuts it) and ``answers`` (the
  last answer per enrolment and question: option ids or scale value readable, free text only
  as the key-ring token, never plaintext).

``erased_subjects`` is NOT a read model: it is the memory of erasures (the pseudonyms erased
on request), kept across rebuilds so that replaying the topics never re-links an answer.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from byggrygg_shared.eventstore import events_table
from byggrygg_shared.inbox import inbox_table

METADATA: Final = sa.MetaData()

EVENTS: Final = events_table(METADATA)
INBOX: Final = inbox_table(METADATA)


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


COURSES: Final = sa.Table(
    "courses",
    METADATA,
    sa.Column("course_id", sa.Uuid(), primary_key=True),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("published_version", sa.Integer(), nullable=True),
    _timestamp("updated_at"),
    comment="Read model: every course of courses' catalogue; published_version is the newest",
)

COURSE_QUESTIONS: Final = sa.Table(
    "course_questions",
    METADATA,
    sa.Column("course_id", sa.Uuid(), primary_key=True),
    sa.Column("course_version", sa.Integer(), primary_key=True),
    sa.Column("question_id", sa.Uuid(), primary_key=True),
    sa.Column("module_id", sa.Uuid(), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("prompt", sa.Text(), nullable=False),
    sa.Column("required", sa.Boolean(), nullable=False),
    sa.Column("scale_low", sa.Integer(), nullable=True),
    sa.Column("scale_high", sa.Integer(), nullable=True),
    comment="Read model: the questions of every published course version (CoursePublished)",
)

QUESTION_OPTIONS: Final = sa.Table(
    "question_options",
    METADATA,
    sa.Column("course_id", sa.Uuid(), primary_key=True),
    sa.Column("course_version", sa.Integer(), primary_key=True),
    sa.Column("question_id", sa.Uuid(), primary_key=True),
    sa.Column("option_id", sa.Uuid(), primary_key=True),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("label", sa.Text(), nullable=False),
    comment="Read model: the answer options of every published question",
)

COURSE_ASSIGNMENTS: Final = sa.Table(
    "course_assignments",
    METADATA,
    sa.Column("course_id", sa.Uuid(), primary_key=True),
    sa.Column("organisation_id", sa.Uuid(), primary_key=True),
    _timestamp("assigned_at"),
    comment="Read model: which organisation was assigned which course (CourseAssigned)",
)

ENROLMENTS: Final = sa.Table(
    "enrolments",
    METADATA,
    sa.Column("enrolment_id", sa.Uuid(), primary_key=True),
    sa.Column("course_id", sa.Uuid(), nullable=False),
    sa.Column("course_version", sa.Integer(), nullable=False),
    sa.Column("organisation_id", sa.Uuid(), nullable=False),
    # The only link to the person; NULL once the person was erased (R16).
    sa.Column("subject_ref", sa.Text(), nullable=True),
    _timestamp("started_at"),
    sa.Column("started_period", sa.Date(), nullable=False),
    _timestamp("completed_at", nullable=True),
    sa.Column("completed_period", sa.Date(), nullable=True),
    _timestamp("ended_at", nullable=True),
    sa.Column("end_reason", sa.Text(), nullable=True),
    # True once the person was erased (the link cut); deterministic, so a rebuild matches.
    sa.Column("unlinked", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Index("ix_enrolments_subject_ref", "subject_ref"),
    # (migration 0004) covering index of the completion counts and of the
    # answers' join (adapters/statistics_store.py), read without touching the table.
    sa.Index(
        "ix_enrolments_statistics",
        "organisation_id",
        "course_id",
        "enrolment_id",
        postgresql_include=["subject_ref", "started_at", "started_period", "completed_at"],
    ),
    comment="Read model: one learner in one course (EnrolmentStarted, CourseCompleted, ...)",
)

ANSWERS: Final = sa.Table(
    "answers",
    METADATA,
    sa.Column("enrolment_id", sa.Uuid(), primary_key=True),
    sa.Column("question_id", sa.Uuid(), primary_key=True),
    sa.Column("course_id", sa.Uuid(), nullable=False),
    sa.Column("course_version", sa.Integer(), nullable=False),
    sa.Column("organisation_id", sa.Uuid(), nullable=False),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("selected_option_ids", postgresql.ARRAY(sa.Uuid()), nullable=True),
    sa.Column("scale_value", sa.Integer(), nullable=True),
    # The key-ring token of the free text (enc:v1:...), never plaintext; NULL after erasure.
    sa.Column("free_text_token", sa.Text(), nullable=True),
    _timestamp("answered_at"),
    # The month of the answer's event time (its first day): the statistics' period dimension.
    sa.Column("period", sa.Date(), nullable=False),
    # (migration 0004) one question's answers, covering what is counted.
    sa.Index(
        "ix_answers_statistics",
        "organisation_id",
        "course_id",
        "question_id",
        "enrolment_id",
        postgresql_include=["answered_at", "period", "selected_option_ids", "scale_value"],
    ),
    comment="Read model: the last answer per enrolment and question (AnswerSubmitted)",
)

ERASED_SUBJECTS: Final = sa.Table(
    "erased_subjects",
    METADATA,
    sa.Column("subject_ref", sa.Text(), primary_key=True),
    _timestamp("erased_at"),
    comment="Pseudonyms erased on request: a replayed or late event never re-links them (R16)",
)

# The projections of courses' topics, in creation order: what a rebuild drops and refills.
READ_MODELS: Final[tuple[sa.Table, ...]] = (
    COURSES,
    COURSE_QUESTIONS,
    QUESTION_OPTIONS,
    COURSE_ASSIGNMENTS,
    ENROLMENTS,
    ANSWERS,
)

# --- statistics releases (k-anonymous statistics lane): NOT a read model --------------------
# The true counts each statistic was last published from (domain.statistics.releases). Kept
# across rebuilds: resetting it would let a rebuild publish a new release after fewer than k
# people changed, which the release rule exists to prevent (R5). Aggregates only, no person.
STATISTICS_RELEASES: Final = sa.Table(
    "statistics_releases",
    METADATA,
    sa.Column("organisation_id", sa.Uuid(), primary_key=True),
    sa.Column("course_id", sa.Uuid(), primary_key=True),
    # "question:<question id>" or "completion".
    sa.Column("statistic", sa.Text(), primary_key=True),
    # The period granularity the counts were made with ("month" or "quarter").
    sa.Column("granularity", sa.Text(), primary_key=True),
    _timestamp("released_at"),
    # {"rows": [...], "columns": [...], "cells": [[row, column, count], ...]}
    sa.Column("counts", postgresql.JSONB(), nullable=False),
    comment="Statistics releases: the counts a contact person's statistic was last published from",
)

# --- ops read model (ops dashboard lane): the privacy orchestrator's requests and replies ---
# Projections of privacy.requests.v1 and privacy.replies.v1 (service_layer.ops_projection),
# rebuildable like the read models above. No personal data: no subject_ref, no export token.
OPS_REQUESTS: Final = sa.Table(
    "ops_requests",
    METADATA,
    sa.Column("request_id", sa.Uuid(), primary_key=True),
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
    # The change the row is as of: an older change arriving late never overwrites it.
    _timestamp("changed_at"),
    _timestamp("completed_at", nullable=True),
    # The earliest change into in_progress: where the participants' reply times start.
    _timestamp("in_progress_at", nullable=True),
    sa.Index("ix_ops_requests_state_deadline", "state", "deadline"),
    comment="Read model: the latest state of every data-subject request (RequestStateChanged)",
)

OPS_REPLIES: Final = sa.Table(
    "ops_replies",
    METADATA,
    sa.Column("request_id", sa.Uuid(), primary_key=True),
    sa.Column("participant", sa.Text(), primary_key=True),
    sa.Column("command", sa.Text(), nullable=False),
    sa.Column("outcome", sa.Text(), nullable=False),
    _timestamp("replied_at"),
    sa.Index("ix_ops_replies_replied_at", "replied_at"),
    comment="Read model: when each participant replied to a request (ParticipantReplied)",
)

# --- response times of every party ---
# Each party of a request (a participant service, a sub-processor by its company name) with
# when it was asked and responded, from RequestStateChanged.response_times; ``changed_at`` is
# the change a row is as of (an older change arriving late never overwrites it).
OPS_RESPONSE_TIMES: Final = sa.Table(
    "ops_response_times",
    METADATA,
    sa.Column("request_id", sa.Uuid(), primary_key=True),
    sa.Column("party_kind", sa.Text(), primary_key=True),
    sa.Column("party", sa.Text(), primary_key=True),
    _timestamp("asked_at"),
    _timestamp("responded_at", nullable=True),
    sa.Column("state", sa.Text(), nullable=False),
    _timestamp("changed_at"),
    sa.Index("ix_ops_response_times_kind_responded", "party_kind", "responded_at"),
    comment="Read model: when each party of a request was asked and responded "
    "(RequestStateChanged.response_times)",
)
# --- end answer-times lane ---

OPS_READ_MODELS: Final[tuple[sa.Table, ...]] = (OPS_REQUESTS, OPS_REPLIES, OPS_RESPONSE_TIMES)
