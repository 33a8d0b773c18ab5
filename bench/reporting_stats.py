"""Reporting's statistics queries over 100,000 answers: how long a contact person waits.

Seeds a scratch reporting database (migrated by reporting's own alembic migrations) with one
organisation's course: every enrolment answers a single-choice, a scale and a
multiple-choice question, so each question has ``answers`` answers; some people enrolled
twice (their latest answer counts), some were erased (link cut: left out of the contact
person's figures). A second organisation adds noise the queries must filter out. Then the
service layer's own calls (``reporting.service_layer.statistics``: counting in SQL, the
release store, suppression) are timed as the organisation's contact person asks them,
``repeats`` times each after a warm-up, and reported as p50/p99 per query and over all.

Run alone: ``uv run python bench/reporting_stats.py [--answers N] [--repeats N]`` (writes
``reporting.json``), or as the ``reporting`` suite of ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from machine import REPO_ROOT, busy_warning, load_average, machine_facts
from report import measurements_document, measurements_table, write_document
from scratch import scratch_database
from stats import percentile
from targets import Measurement

from byggrygg_shared.auth import Role
from byggrygg_shared.db import create_pool
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.sources import RandomIds
from reporting.main import migrate_database
from reporting.service_layer import statistics
from reporting.service_layer.context import Actor, Dependencies

__all__ = ["ReportingStatsConfig", "bench_reporting_stats", "run_reporting_suite"]

LOCAL_PG_DSN = "postgresql://byggrygg@127.0.0.1:54329/postgres"
DEFAULT_RESULTS_DIR = REPO_ROOT / "bench" / "results"
NAME = "reporting"
OPTIONS = 4
SCALE = (1, 5)
# The seed's fixed "now": answers spread over the two years before it.
NOW = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ReportingStatsConfig:
    """How much data and how many timed queries."""

    answers: int = 100_000  # answers per question of the queried organisation
    repeats: int = 30  # timed calls per query
    warmup: int = 3
    repeat_share: float = 0.2  # share of enrolments that are a person's second enrolment
    erased_share: float = 0.02  # share of enrolments whose person was erased
    noise_answers: int = 20_000  # answers per question of another organisation


@dataclass(frozen=True)
class Seeded:
    organisation_id: uuid.UUID
    course_id: uuid.UUID
    questions: dict[str, uuid.UUID]  # kind -> question id


async def _seed(conn: asyncpg.Connection, config: ReportingStatsConfig) -> Seeded:
    """The catalogue rows, then enrolments and answers generated in SQL (one statement each)."""
    organisation, other, course = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    questions = {
        "single_choice": uuid.uuid4(),
        "scale": uuid.uuid4(),
        "multiple_choice": uuid.uuid4(),
    }
    options = {kind: [uuid.uuid4() for _ in range(OPTIONS)] for kind in questions}
    assigned = NOW - timedelta(days=730)
    await conn.execute(
        "INSERT INTO courses (course_id, title, published_version, updated_at)"
        " VALUES ($1, 'Bench course', 1, $2)",
        course,
        assigned,
    )
    for org in (organisation, other):
        await conn.execute(
            "INSERT INTO course_assignments (course_id, organisation_id, assigned_at)"
            " VALUES ($1, $2, $3)",
            course,
            org,
            assigned,
        )
    for position, (kind, question) in enumerate(questions.items()):
        scale = SCALE if kind == "scale" else (None, None)
        await conn.execute(
            "INSERT INTO course_questions (course_id, course_version, question_id, module_id,"
            " position, kind, prompt, required, scale_low, scale_high)"
            " VALUES ($1, 1, $2, $3, $4, $5, 'Bench question', true, $6, $7)",
            course,
            question,
            uuid.uuid4(),
            position,
            kind,
            *scale,
        )
        if kind != "scale":
            await conn.executemany(
                "INSERT INTO question_options (course_id, course_version, question_id,"
                " option_id, position, label) VALUES ($1, 1, $2, $3, $4, $5)",
                [
                    (course, question, option, i, f"Option {i}")
                    for i, option in enumerate(options[kind])
                ],
            )
    for org, count in ((organisation, config.answers), (other, config.noise_answers)):
        people = max(1, round(count * (1 - config.repeat_share)))
        await _seed_enrolments(conn, config, org=org, course=course, count=count, people=people)
        for kind, question in questions.items():
            await _seed_answers(conn, org=org, question=question, kind=kind, options=options[kind])
    # Steady state: autovacuum has long set the visibility map (index-only scans).
    await conn.execute("VACUUM ANALYZE")
    return Seeded(organisation_id=organisation, course_id=course, questions=questions)


async def _seed_enrolments(
    conn: asyncpg.Connection,
    config: ReportingStatsConfig,
    *,
    org: uuid.UUID,
    course: uuid.UUID,
    count: int,
    people: int,
) -> None:
    # Enrolment i belongs to person i mod people: the first `people` are first enrolments, the
    # rest second ones; every 1/erased_share-th enrolment lost its link (erased). Pseudonyms
    # look like the platform's (`subj_` + 32 hex characters), which matters to sorting them.
    erased_every = max(1, round(1 / config.erased_share)) if config.erased_share > 0 else 0
    await conn.execute(
        """
        INSERT INTO enrolments (enrolment_id, course_id, course_version, organisation_id,
                                subject_ref, started_at, started_period, completed_at,
                                completed_period, unlinked)
        SELECT gen_random_uuid(), $1::uuid, 1, $2::uuid,
               CASE WHEN $5::int > 0 AND i % $5::int = 0 THEN NULL
                    ELSE 'subj_' || md5($2::uuid::text || (i % $4::int)) END,
               at, date_trunc('month', at AT TIME ZONE 'UTC')::date,
               CASE WHEN i % 3 <> 0 THEN at + interval '3 days' END,
               CASE WHEN i % 3 <> 0
                    THEN date_trunc('month', (at + interval '3 days') AT TIME ZONE 'UTC')::date END,
               $5::int > 0 AND i % $5::int = 0
        FROM (SELECT i, $6::timestamptz - (i * 7919 % 700) * interval '1 day'
                        - (i % 86400) * interval '1 second' AS at
              FROM generate_series(1, $3::int) AS i) AS g
        """,
        course,
        org,
        count,
        people,
        erased_every,
        NOW - timedelta(days=1),
    )


async def _seed_answers(
    conn: asyncpg.Connection,
    *,
    org: uuid.UUID,
    question: uuid.UUID,
    kind: str,
    options: list[uuid.UUID],
) -> None:
    # One answer per enrolment, a little after its start; values spread over the options.
    await conn.execute(
        """
        INSERT INTO answers (enrolment_id, question_id, course_id, course_version,
                             organisation_id, kind, selected_option_ids, scale_value,
                             free_text_token, answered_at, period)
        SELECT e.enrolment_id, $2::uuid, e.course_id, 1, e.organisation_id, $3::text,
               CASE $3::text
                   WHEN 'scale' THEN NULL
                   WHEN 'multiple_choice' THEN ($4::uuid[])[1 + n % 4 : 1 + n % 4 + (n / 4) % 2]
                   ELSE ARRAY[($4::uuid[])[1 + n % 4]]
               END,
               CASE WHEN $3::text = 'scale' THEN 1 + n % 5 END,
               NULL, e.started_at + interval '1 hour',
               date_trunc('month', (e.started_at + interval '1 hour') AT TIME ZONE 'UTC')::date
        FROM (SELECT enrolment_id, course_id, organisation_id, started_at,
                     abs(hashtext(enrolment_id::text)) AS n
              FROM enrolments WHERE organisation_id = $1::uuid) AS e
        """,
        org,
        question,
        kind,
        options,
    )


Query = Callable[[], Awaitable[statistics.AnswerStatistics]]


def _queries(deps: Dependencies, seeded: Seeded) -> dict[str, Query]:
    actor = Actor(
        user_id="bench-contact",
        subject_ref="subj_bench_contact",
        organisation_id=seeded.organisation_id,
        roles=frozenset({Role.CONTACT_PERSON}),
    )
    ids = {"organisation_id": seeded.organisation_id, "course_id": seeded.course_id}

    def answers(kind: str) -> Query:
        return lambda: statistics.answer_statistics(
            deps,
            actor,
            question_id=seeded.questions[kind],
            dimensions=["period", "option"],
            k=None,
            **ids,
        )

    queries: dict[str, Query] = {kind: answers(kind) for kind in seeded.questions}
    queries["completion"] = lambda: statistics.completion_statistics(
        deps, actor, dimensions=["period", "status"], k=None, **ids
    )
    return queries


async def _time(query: Query, config: ReportingStatsConfig) -> list[float]:
    for _ in range(config.warmup):
        await query()
    seconds: list[float] = []
    for _ in range(config.repeats):
        started = time.perf_counter()
        result = await query()
        seconds.append(time.perf_counter() - started)
        if result.total is None or not result.figures:
            raise RuntimeError("the statistics query published nothing: the seed is wrong")
    return seconds


def _ms(seconds: list[float], quantile: float) -> float:
    return percentile(seconds, quantile) * 1000.0


async def bench_reporting_stats(
    admin_dsn: str, config: ReportingStatsConfig, progress: Callable[[str], None]
) -> Measurement:
    """Seed a scratch reporting database and time the contact person's statistics queries."""
    async with scratch_database(admin_dsn, prefix="bench_reporting_") as dsn:
        await asyncio.to_thread(migrate_database, dsn)
        pool = await create_pool(dsn, min_size=1, max_size=2)  # the service's codecs
        try:
            started = time.perf_counter()
            async with pool.acquire() as conn:
                seeded = await _seed(conn, config)
                answers_total = await conn.fetchval("SELECT count(*) FROM answers")
            seed_s = time.perf_counter() - started
            progress(f"reporting: seeded {answers_total} answers in {seed_s:.1f} s")
            deps = Dependencies(
                pool=pool,
                store=EventStore(),
                clock=lambda: NOW,
                ids=RandomIds(),
                statistics_period="quarter",
            )
            timings: dict[str, list[float]] = {}
            for name, query in _queries(deps, seeded).items():
                timings[name] = await _time(query, config)
                progress(
                    f"reporting: {name}: p50 {_ms(timings[name], 0.5):.1f} ms,"
                    f" p99 {_ms(timings[name], 0.99):.1f} ms"
                )
        finally:
            await pool.close()
    every = [s for seconds in timings.values() for s in seconds]
    metrics = {"p50_ms": _ms(every, 0.5), "p99_ms": _ms(every, 0.99)}
    for name, seconds in timings.items():
        metrics[f"{name}_p50_ms"] = _ms(seconds, 0.5)
        metrics[f"{name}_p99_ms"] = _ms(seconds, 0.99)
    return Measurement(
        name="contact_person_statistics",
        description=f"a contact person's statistics query (period x option, k-anonymous) over "
        f"{config.answers} answers per question, service layer on the real database",
        metrics=metrics,
        details={"answers_in_database": int(answers_total), "seed_s": round(seed_s, 1)},
    )


async def run_reporting_suite(
    config: ReportingStatsConfig, admin_dsn: str, results_dir: Path, progress: Callable[[str], None]
) -> Path:
    """Run the benchmark and write ``<results_dir>/reporting.json``; its path."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    machine = await machine_facts(admin_dsn)
    measurement = await bench_reporting_stats(admin_dsn, config, progress)
    warning = busy_warning(machine["load_average_at_start"])
    doc = measurements_document(
        name=NAME,
        measurements=[measurement],
        machine={**machine, "load_average_at_end": load_average()},
        config=asdict(config),
        started_at=started_at.isoformat(),
        duration_s=time.perf_counter() - started,
        warnings=[warning] if warning else [],
    )
    path = write_document(doc, results_dir, NAME)
    print(measurements_table([measurement]))
    print(f"\nresults: {path} ({doc['duration_s']} s)")
    return path


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--answers", type=int, default=ReportingStatsConfig.answers)
    parser.add_argument("--repeats", type=int, default=ReportingStatsConfig.repeats)
    args = parser.parse_args()
    config = ReportingStatsConfig(answers=args.answers, repeats=args.repeats)
    admin_dsn = os.environ.get("BYGGRYGG_PG_DSN", LOCAL_PG_DSN)
    results_dir = Path(os.environ.get("BYGGRYGG_BENCH_RESULTS_DIR") or DEFAULT_RESULTS_DIR)
    asyncio.run(run_reporting_suite(config, admin_dsn, results_dir, _progress))


if __name__ == "__main__":
    main()
