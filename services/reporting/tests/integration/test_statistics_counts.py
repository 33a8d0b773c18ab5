"""The statistics' SQL counts (adapters/statistics_store.py) agree with the domain rule
(`domain.statistics.count_table`) for every kind of question and for completion.

The counting SQL was rewritten for speed (covering indexes, stored periods, a cheaper
multiple-choice value); this pins its results to the domain rule on data made to hit the
corners: people with several enrolments, equal answer times, multiple-choice option lists
unsorted and with repeats, answers near a month's end in UTC, erased people (link cut).
Rows are written straight into the read models (as the projection writes them: `period` is
the UTC month of the time), so any kind of question can be generated.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from byggrygg_shared.db import create_pool, transaction
from reporting.adapters import statistics_store
from reporting.domain.statistics import (
    Contribution,
    Granularity,
    count_table,
    multiple_choice_value,
    table_from_month_counts,
)

START = datetime(2026, 1, 31, 22, 30, tzinfo=UTC)  # near a month's end: UTC months matter
OPTIONS = [uuid.uuid4() for _ in range(4)]


@pytest.fixture
async def pool(reporting_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(reporting_dsn)
    try:
        yield pool
    finally:
        await pool.close()


def _month(at: datetime) -> date:
    return date(at.year, at.month, 1)


class Seed:
    """Enrolments and answers of one organisation's course, with what the domain expects."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.organisation = uuid.uuid4()
        self.course = uuid.uuid4()
        self.question = uuid.uuid4()
        self.enrolments: list[tuple[object, ...]] = []
        self.answers: list[tuple[object, ...]] = []
        self.linked: list[Contribution] = []
        self.every: list[Contribution] = []
        self.completion_linked: list[Contribution] = []
        self.completion_every: list[Contribution] = []

    def _at(self) -> datetime:
        return START + timedelta(hours=self.rng.choice([0, 0, 1, 2, 30 * 24, 95 * 24]))

    def _value(self, kind: str) -> tuple[list[uuid.UUID] | None, int | None, str]:
        if kind == "scale":
            value = self.rng.randint(1, 5)
            return None, value, str(value)
        if kind == "multiple_choice":
            chosen = [self.rng.choice(OPTIONS) for _ in range(self.rng.randint(1, 4))]
            return chosen, None, multiple_choice_value(str(o) for o in chosen)
        option = self.rng.choice(OPTIONS)
        return [option], None, str(option)

    def add(self, kind: str, *, people: int, enrolments: int, erased: int) -> None:
        persons = [f"subj_{uuid.uuid4().hex}" for _ in range(people)]
        gone = set(persons[:erased])
        for _ in range(enrolments):
            person = self.rng.choice(persons)
            enrolment = uuid.uuid4()
            started = self._at()
            completed = started + timedelta(hours=1) if self.rng.random() < 0.5 else None
            subject_ref = None if person in gone else person
            self.enrolments.append(
                (
                    enrolment,
                    self.course,
                    self.organisation,
                    subject_ref,
                    started,
                    _month(started),
                    completed,
                    None if completed is None else _month(completed),
                    person in gone,
                )
            )
            status = "completed" if completed is not None else "not_completed"
            key = person if person not in gone else f"e:{enrolment}"
            self.completion_every.append(Contribution(key, started, status))
            if person not in gone:
                self.completion_linked.append(Contribution(person, started, status))
            at = self._at()
            options, scale, value = self._value(kind)
            answer = (self.question, self.course, self.organisation, kind, options, scale)
            self.answers.append((enrolment, *answer, at, _month(at)))
            self.every.append(Contribution(key, at, value))
            if person not in gone:
                self.linked.append(Contribution(person, at, value))

    async def write(self, pool: asyncpg.Pool) -> None:
        async with transaction(pool) as conn:
            await conn.executemany(
                "INSERT INTO enrolments (enrolment_id, course_id, course_version,"
                " organisation_id, subject_ref, started_at, started_period, completed_at,"
                " completed_period, unlinked) VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, $9)",
                self.enrolments,
            )
            await conn.executemany(
                "INSERT INTO answers (enrolment_id, question_id, course_id, course_version,"
                " organisation_id, kind, selected_option_ids, scale_value, answered_at, period)"
                " VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9)",
                self.answers,
            )


@pytest.mark.parametrize("kind", ["single_choice", "multiple_choice", "scale"])
@pytest.mark.parametrize("seed", [1, 2])
async def test_the_answer_counts_follow_the_domain_rule(
    pool: asyncpg.Pool, kind: str, seed: int
) -> None:
    data = Seed(random.Random(f"{kind}-{seed}"))
    data.add(kind, people=30, enrolments=80, erased=6)
    await data.write(pool)
    # Another organisation's answers to the same question must not be counted.
    other = Seed(random.Random(seed))
    other.course, other.question = data.course, data.question
    other.add(kind, people=10, enrolments=20, erased=0)
    await other.write(pool)
    for include_unlinked, expected in ((False, data.linked), (True, data.every)):
        async with transaction(pool) as conn:
            counts = await statistics_store.answer_counts(
                conn,
                organisation_id=data.organisation,
                course_id=data.course,
                question_id=data.question,
                kind=kind,
                include_unlinked=include_unlinked,
            )
        for granularity in Granularity:
            assert table_from_month_counts(counts, granularity=granularity) == count_table(
                expected, granularity=granularity
            ), (kind, include_unlinked, granularity)


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_completion_counts_follow_the_domain_rule(pool: asyncpg.Pool, seed: int) -> None:
    data = Seed(random.Random(f"completion-{seed}"))
    data.add("single_choice", people=30, enrolments=80, erased=6)
    await data.write(pool)
    for include_unlinked, expected in (
        (False, data.completion_linked),
        (True, data.completion_every),
    ):
        async with transaction(pool) as conn:
            counts = await statistics_store.completion_counts(
                conn,
                organisation_id=data.organisation,
                course_id=data.course,
                include_unlinked=include_unlinked,
            )
        for granularity in Granularity:
            assert table_from_month_counts(counts, granularity=granularity) == count_table(
                expected, granularity=granularity
            ), (include_unlinked, granularity)
