"""What the statistics read from reporting's database, and the release store they write.

Reads only what counting needs from the read models (``adapters.tables``): a pseudonymous
person key, a time and the chosen option ids or scale value. Free-text tokens are never
selected. The release store keeps, per organisation, course, statistic and period granularity,
the true counts a statistic was last published from (``domain.statistics.releases``); it holds
aggregates only, no person key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from reporting.domain.statistics import CountTable, MonthCount, Release


@dataclass(frozen=True)
class QuestionShape:
    """What the statistics need to know about a question: its kind and its possible values."""

    kind: str
    option_ids: tuple[str, ...]
    option_labels: dict[str, str]
    scale: tuple[int, int] | None


async def assigned_at(
    conn: asyncpg.Connection, *, organisation_id: UUID, course_id: UUID
) -> datetime | None:
    """When the course was assigned to the organisation, or None if it never was."""
    value: datetime | None = await conn.fetchval(
        "SELECT assigned_at FROM course_assignments WHERE organisation_id = $1 AND course_id = $2",
        organisation_id,
        course_id,
    )
    return value


async def question_shape(
    conn: asyncpg.Connection, *, course_id: UUID, question_id: UUID
) -> QuestionShape | None:
    """The question as its newest published version has it, options of every version."""
    question = await conn.fetchrow(
        "SELECT kind, scale_low, scale_high FROM course_questions"
        " WHERE course_id = $1 AND question_id = $2 ORDER BY course_version DESC LIMIT 1",
        course_id,
        question_id,
    )
    if question is None:
        return None
    options = await conn.fetch(
        "SELECT DISTINCT ON (option_id) option_id, label, position FROM question_options"
        " WHERE course_id = $1 AND question_id = $2 ORDER BY option_id, course_version DESC",
        course_id,
        question_id,
    )
    ordered = sorted(options, key=lambda row: (row["position"], str(row["option_id"])))
    scale = None
    if question["scale_low"] is not None and question["scale_high"] is not None:
        scale = (int(question["scale_low"]), int(question["scale_high"]))
    return QuestionShape(
        kind=str(question["kind"]),
        option_ids=tuple(str(row["option_id"]) for row in ordered),
        option_labels={str(row["option_id"]): str(row["label"]) for row in ordered},
        scale=scale,
    )


# Counting is done here, in SQL, with `domain.statistics.count_table`'s semantics: each person
# once, with their latest contribution (ties broken by the greater value, byte order), grouped
# by the UTC month and value of that contribution. A linked answer counts under its
# subject_ref (distinct people); an answer whose person was erased has no subject_ref any more
# and counts under its enrolment (staff statistics only: contact persons' leave them out).
# Both statements end alike (spelled out twice: no SQL is built from strings).
#
# Speed (100,000 answers of one question; bench/reporting_stats.py): the covering indexes
# ix_answers_statistics and ix_enrolments_statistics (migration 0004) let both sides be read
# from the index alone, for this organisation and course only: the redundant
# `e.organisation_id = $1 AND e.course_id = $2` is true of every answer's enrolment (courses
# raises AnswerSubmitted with its enrolment's organisation and course) and lets PostgreSQL
# skip other organisations' enrolments. `period`/`started_period` are the stored UTC month of
# the time (projection.period_of), so grouping needs no per-row date arithmetic. A
# multiple-choice answer's value is its distinct options sorted as uuids, which is the same
# order as their text in byte order (fixed-width lowercase hex); a single option skips the
# per-row subquery.
_ANSWER_COUNTS = """
WITH contributions AS (
    SELECT coalesce(e.subject_ref, 'enrolment:' || e.enrolment_id::text) COLLATE "C" AS person,
           a.answered_at AS at,
           a.period,
           CASE $4::text
               WHEN 'scale' THEN a.scale_value::text
               WHEN 'multiple_choice' THEN CASE
                   WHEN cardinality(a.selected_option_ids) = 1
                   THEN a.selected_option_ids[1]::text
                   ELSE array_to_string(ARRAY(
                       SELECT DISTINCT o FROM unnest(a.selected_option_ids) AS o ORDER BY o
                   ), '+')
               END
               ELSE a.selected_option_ids[1]::text
           END AS value
    FROM answers a JOIN enrolments e ON e.enrolment_id = a.enrolment_id
    WHERE a.organisation_id = $1 AND a.course_id = $2 AND a.question_id = $3
      AND e.organisation_id = $1 AND e.course_id = $2
      AND ($5 OR e.subject_ref IS NOT NULL)
)
SELECT extract(year FROM period)::int AS year, extract(month FROM period)::int AS month,
       value, people
FROM (
    SELECT period, value, count(*)::int AS people
    FROM (
        SELECT DISTINCT ON (person) person, period, value
        FROM contributions
        WHERE value IS NOT NULL
        ORDER BY person, at DESC, value COLLATE "C" DESC
    ) latest
    GROUP BY period, value
) counted
"""

_COMPLETION_COUNTS = """
WITH contributions AS (
    SELECT coalesce(e.subject_ref, 'enrolment:' || e.enrolment_id::text) COLLATE "C" AS person,
           e.started_at AS at,
           e.started_period AS period,
           CASE WHEN e.completed_at IS NOT NULL THEN 'completed' ELSE 'not_completed' END
               AS value
    FROM enrolments e
    WHERE e.organisation_id = $1 AND e.course_id = $2 AND ($3 OR e.subject_ref IS NOT NULL)
)
SELECT extract(year FROM period)::int AS year, extract(month FROM period)::int AS month,
       value, people
FROM (
    SELECT period, value, count(*)::int AS people
    FROM (
        SELECT DISTINCT ON (person) person, period, value
        FROM contributions
        WHERE value IS NOT NULL
        ORDER BY person, at DESC, value COLLATE "C" DESC
    ) latest
    GROUP BY period, value
) counted
"""


async def _sort_in_memory(conn: asyncpg.Connection) -> None:
    # Finding each person's latest answer sorts every answer of the question; with the default
    # work_mem (4 MB) 100,000 answers spill to disk. SET LOCAL: ends with the transaction.
    await conn.execute("SET LOCAL work_mem = '64MB'")


def _month_counts(rows: list[asyncpg.Record]) -> list[MonthCount]:
    return [
        MonthCount(year=row["year"], month=row["month"], value=row["value"], people=row["people"])
        for row in rows
    ]


async def answer_counts(
    conn: asyncpg.Connection,
    *,
    organisation_id: UUID,
    course_id: UUID,
    question_id: UUID,
    kind: str,
    include_unlinked: bool,
) -> list[MonthCount]:
    """People per month and answer value (option id, option set or scale value); never text."""
    await _sort_in_memory(conn)
    rows = await conn.fetch(
        _ANSWER_COUNTS, organisation_id, course_id, question_id, kind, include_unlinked
    )
    return _month_counts(rows)


async def completion_counts(
    conn: asyncpg.Connection, *, organisation_id: UUID, course_id: UUID, include_unlinked: bool
) -> list[MonthCount]:
    """People per month of their latest enrolment's start and its completion status."""
    await _sort_in_memory(conn)
    rows = await conn.fetch(_COMPLETION_COUNTS, organisation_id, course_id, include_unlinked)
    return _month_counts(rows)


def _table_to_json(table: CountTable) -> dict[str, Any]:
    return {
        "rows": list(table.rows),
        "columns": list(table.columns),
        "cells": [[row, column, count] for (row, column), count in sorted(table.cells.items())],
    }


def _table_from_json(data: dict[str, Any]) -> CountTable:
    return CountTable(
        rows=tuple(data["rows"]),
        columns=tuple(data["columns"]),
        cells={(row, column): int(count) for row, column, count in data["cells"]},
    )


async def lock_release(conn: asyncpg.Connection, key: tuple[UUID, UUID, str, str]) -> None:
    """Serialise release decisions of one statistic (ends with the transaction)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "statistics:" + repr(key)
    )


async def load_release(
    conn: asyncpg.Connection, key: tuple[UUID, UUID, str, str]
) -> Release | None:
    organisation_id, course_id, statistic, granularity = key
    row = await conn.fetchrow(
        "SELECT released_at, counts FROM statistics_releases WHERE organisation_id = $1"
        " AND course_id = $2 AND statistic = $3 AND granularity = $4",
        organisation_id,
        course_id,
        statistic,
        granularity,
    )
    if row is None:
        return None
    return Release(table=_table_from_json(row["counts"]), released_at=row["released_at"])


async def save_release(
    conn: asyncpg.Connection, key: tuple[UUID, UUID, str, str], release: Release
) -> None:
    organisation_id, course_id, statistic, granularity = key
    await conn.execute(
        "INSERT INTO statistics_releases"
        " (organisation_id, course_id, statistic, granularity, released_at, counts)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (organisation_id, course_id, statistic, granularity)"
        " DO UPDATE SET released_at = excluded.released_at, counts = excluded.counts",
        organisation_id,
        course_id,
        statistic,
        granularity,
        release.released_at,
        _table_to_json(release.table),
    )
