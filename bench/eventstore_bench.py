"""Event-store append against a raw asyncpg insert of the same rows (target: >= 60 % of raw).

Subject: ``EventStore.append`` inside ``byggrygg_shared.db.transaction`` (a pooled connection,
one transaction per append), exactly as a command handler runs it: version check, insert,
``pg_notify`` for the relay.

Baseline: the same rows (same stream ids, versions, payload and metadata JSON) inserted with
a plain ``INSERT ... VALUES`` (``executemany`` for a batch) on one dedicated asyncpg
connection, one transaction per append, into ``raw.events``, a table with the same DDL and
indexes. That is the least work PostgreSQL must do to durably store the rows.

Reference (not judged): the same raw insert inside ``db.transaction`` on the pool, which
separates the cost of the unit of work (pool acquire/release with asyncpg's session reset)
from the cost of ``EventStore.append`` itself.

Each append writes a new stream. Each repeat runs the three sides in rotated order, each into
an emptied table, then compares the rows of ``events`` and ``raw.events`` to prove they wrote
the same data. A breakdown run through timing proxies shows where an append's time goes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
from scratch import RAW_SCHEMA
from stats import DEFAULT_CLOCK, BenchMismatch, Clock, Comparison, Run
from timing import StepTimes, TimedConnection, TimedPool
from workload import PlannedAppend, ProbeRecorded, plan_appends

from byggrygg_shared.db import create_pool, transaction
from byggrygg_shared.eventstore import EventStore

__all__ = ["AppendConfig", "bench_appends"]

TARGET_RATIO = 0.60
# JSON travels as text and is cast in SQL, like the event store does, so the statement works
# the same on a plain connection and on a pool connection with json codecs.
INSERT_RAW = (
    f"INSERT INTO {RAW_SCHEMA}.events "
    "(stream_id, version, event_type, event_version, payload, metadata) "
    "VALUES ($1, $2, $3, $4, $5::text::jsonb, $6::text::jsonb)"
)
STORE, RAW, RAW_POOLED = "store", "raw", "raw_pooled"
Runner = Callable[[list[PlannedAppend]], Awaitable[Run]]
_ROW_COLUMNS = "stream_id, version, event_type, event_version, payload, metadata"


@dataclass(frozen=True)
class AppendConfig:
    """One append benchmark: ``transactions`` appends of ``events_per_tx`` events each."""

    name: str
    transactions: int
    events_per_tx: int
    repeats: int
    warmup_transactions: int
    breakdown_transactions: int
    seed: int = 20250101


async def bench_appends(
    dsn: str, config: AppendConfig, *, clock: Clock = DEFAULT_CLOCK
) -> Comparison:
    """Measure ``config`` on the database at ``dsn`` (which has ``events`` and ``raw.events``)."""
    plan = plan_appends(
        ProbeRecorded,
        transactions=config.transactions,
        events_per_tx=config.events_per_tx,
        seed=config.seed,
    )
    warmup = plan_appends(
        ProbeRecorded,
        transactions=config.warmup_transactions,
        events_per_tx=config.events_per_tx,
        seed=config.seed + 1,
        stream_prefix="warmup",
    )
    pool = await create_pool(dsn, min_size=1, max_size=1)
    raw = await asyncpg.connect(dsn)
    try:
        sides: dict[str, tuple[str, Runner]] = {
            STORE: ("events", lambda p: _append_via_store(pool, p, clock)),
            RAW: (f"{RAW_SCHEMA}.events", lambda p: _insert_raw(raw, p, clock)),
            RAW_POOLED: (f"{RAW_SCHEMA}.events", lambda p: _insert_raw_pooled(pool, p, clock)),
        }
        for table, runner in sides.values():
            await _empty(raw, table)
            await runner(warmup)

        runs: dict[str, list[Run]] = {name: [] for name in sides}
        order = list(sides)
        for repeat in range(config.repeats):
            # Rotate who goes first, so drift (checkpoints, caches) hits every side alike.
            for name in order[repeat % 3 :] + order[: repeat % 3]:
                table, runner = sides[name]
                await _empty(raw, table)
                runs[name].append(await runner(plan))
            # `events` holds the store's rows, `raw.events` the last raw side's: same data?
            await _check_same_rows(raw, expected=config.transactions * config.events_per_tx)

        await _empty(raw, "events")
        await _empty(raw, f"{RAW_SCHEMA}.events")
        breakdown = await _breakdown(pool, raw, plan[: config.breakdown_transactions], clock)
    finally:
        await raw.close()
        await pool.close()

    return Comparison(
        name=config.name,
        unit="events",
        subject_label="EventStore.append in db.transaction",
        baseline_label="raw asyncpg INSERT on a dedicated connection",
        subject_runs=runs[STORE],
        baseline_runs=runs[RAW],
        target_ratio=TARGET_RATIO,
        references={"raw asyncpg INSERT in db.transaction (pooled)": runs[RAW_POOLED]},
        details={
            "transactions": config.transactions,
            "events_per_transaction": config.events_per_tx,
            "breakdown": breakdown,
        },
    )


async def _empty(conn: asyncpg.Connection, table: str) -> None:
    await conn.execute(f"TRUNCATE {table} RESTART IDENTITY")
    # Start every run from a clean WAL position, so no run pays for an earlier one's dirt.
    await conn.execute("CHECKPOINT")


async def _append_via_store(pool: asyncpg.Pool, plan: list[PlannedAppend], clock: Clock) -> Run:
    store = EventStore()
    latencies: list[float] = []
    start = clock()
    for planned in plan:
        began = clock()
        async with transaction(pool) as conn:
            await store.append(
                conn,
                stream_id=planned.stream_id,
                expected_version=0,
                events=planned.events,
                metadata=planned.metadata,
            )
        latencies.append(clock() - began)
    return Run(_events(plan), clock() - start, latencies)


async def _insert_raw(conn: asyncpg.Connection, plan: list[PlannedAppend], clock: Clock) -> Run:
    latencies: list[float] = []
    start = clock()
    for planned in plan:
        began = clock()
        async with conn.transaction():
            await _insert_rows(conn, planned)
        latencies.append(clock() - began)
    return Run(_events(plan), clock() - start, latencies)


async def _insert_raw_pooled(pool: asyncpg.Pool, plan: list[PlannedAppend], clock: Clock) -> Run:
    """The raw insert inside ``db.transaction``: what the unit of work itself costs."""
    latencies: list[float] = []
    start = clock()
    for planned in plan:
        began = clock()
        async with transaction(pool) as conn:
            await _insert_rows(conn, planned)
        latencies.append(clock() - began)
    return Run(_events(plan), clock() - start, latencies)


async def _insert_rows(conn: asyncpg.Connection, planned: PlannedAppend) -> None:
    if len(planned.rows) == 1:
        await conn.execute(INSERT_RAW, *planned.rows[0])
    else:
        await conn.executemany(INSERT_RAW, planned.rows)


def _events(plan: list[PlannedAppend]) -> int:
    return sum(len(planned.events) for planned in plan)


async def _check_same_rows(conn: asyncpg.Connection, *, expected: int) -> None:
    """Both tables hold exactly the planned rows (jsonb compared as values, not text)."""
    counts = await conn.fetchrow(
        f"SELECT (SELECT count(*) FROM events) AS store, "
        f"(SELECT count(*) FROM {RAW_SCHEMA}.events) AS raw, "
        f"(SELECT count(*) FROM (SELECT {_ROW_COLUMNS} FROM events "
        f"EXCEPT SELECT {_ROW_COLUMNS} FROM {RAW_SCHEMA}.events) d) AS differing"
    )
    if counts is None or (counts["store"], counts["raw"], counts["differing"]) != (
        expected,
        expected,
        0,
    ):
        raise BenchMismatch(f"event store and raw rows differ: {dict(counts or {})}")


async def _breakdown(
    pool: asyncpg.Pool, raw: asyncpg.Connection, plan: list[PlannedAppend], clock: Clock
) -> dict[str, Any]:
    """Mean microseconds per transaction of each round trip, and the rest (Python)."""
    if not plan:
        return {}
    store_times = StepTimes(clock)
    started = clock()
    await _append_via_store(cast(asyncpg.Pool, TimedPool(pool, store_times)), plan, clock)
    store_wall = clock() - started

    raw_times = StepTimes(clock)
    started = clock()
    await _insert_raw(cast(asyncpg.Connection, TimedConnection(raw, raw_times)), plan, clock)
    raw_wall = clock() - started
    return {
        "per": "transaction",
        "units": len(plan),
        "event_store": _with_rest(store_times, store_wall, len(plan)),
        "raw": _with_rest(raw_times, raw_wall, len(plan)),
    }


def _with_rest(times: StepTimes, wall: float, units: int) -> dict[str, Any]:
    steps = times.per_unit_us(units)
    steps["python and other (rest)"] = {"us": (wall - times.total()) / units * 1e6, "calls": 0.0}
    return {"total_us": wall / units * 1e6, "steps": steps}
