"""Reporting's projector throughput against a raw aiokafka consumer (target: >= 50 % of raw).

Workload: courses' events as courses' outbox relay publishes them (binary-mode CloudEvents,
keyed by stream), on scratch topics under a scratch topic prefix: one published course with a
single-choice and a scale question, assigned to one organisation, then per enrolment
``EnrolmentStarted``, two ``AnswerSubmitted`` and ``CourseCompleted`` (four messages each).
25,000 enrolments by default (100,003 messages): large enough that the steady state, not the
group join, decides the figures (the raw consumer still needs about half a second; on 8,003
messages it needed 0.1-0.25 s and its figure varied threefold between runs with the join).
The produced records are not kept in memory while the sides run: 100,000 of them would be
ballast for the garbage collector of whichever side allocates most.

Subject: reporting's real projector path, the FastStream subscribers reporting runs in
production (``reporting.entrypoints.consumers.register_consumers`` through
``byggrygg_shared.subscriptions.Subscriptions`` with the topic prefix, a consumer group of
its own), on a scratch reporting database migrated by reporting's alembic migrations: timed
from starting the subscribers until the read models' consumer group has committed every
message's offset (batches of up to ``BATCH_MAX_RECORDS`` consumed, decoded, validated,
applied in one transaction each, one offset commit each; a batch's offsets are committed
only after its transaction, so every effect is then visible, and the read model is checked
to hold them all). The committed offsets are polled (a Kafka request every ``POLL_S``), not
the read model, whose ``count(*)`` over growing tables every few milliseconds would load
the database under test.

Baseline: a plain ``AIOKafkaConsumer`` in a group of its own reading the same messages from
the same topics, timed from its start until it has read all of them and committed.

Each side reports two more figures (not judged): its start (the raw consumer's first
records; the projector's first committed batch, which includes its group join and first
transaction) and its steady throughput (the messages after that point over the time after
it): ``steady`` is a second comparison in the results.

References (not judged): the plain consumer doing the subscribers' work without FastStream
(the same batches decoded with ``decode_records`` and applied with ``apply_or_isolate`` in a
transaction each, on a fresh database, one commit per batch), and the plain consumer only
decoding them: they split the gap into decoding's, the database's and the framework's
shares.

All sides start cold (the local broker's ``group.initial.rebalance.delay.ms`` is 0), alternate
``repeats`` times, and each projector run gets a fresh database; the median run counts. They
run in one process whose heap is settled once after producing, as a served reporting settles
its own when its subscribers start (``reporting.gc_policy.settle_heap``): the same for every
side.

Run alone: ``uv run python bench/projector_bench.py [--enrolments N] [--repeats N]`` (writes
``projector.json``), or as part of the ``reporting`` suite of ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from machine import REPO_ROOT, busy_warning, load_average, machine_facts
from report import document, summary_table, write_document
from scratch import named_scratch_topics, scratch_database, unique
from stats import DEFAULT_CLOCK, BenchMismatch, Clock, Comparison, Run

from byggrygg_shared.contracts import courses as contracts
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.db import create_pool, transaction
from byggrygg_shared.envelope import EventMetadata, KafkaRecord, kafka_record
from byggrygg_shared.eventstore import metadata_document
from byggrygg_shared.keyring import create_master_key_file
from byggrygg_shared.keyring_schema import migrate_keyring
from byggrygg_shared.subscriptions import Subscriptions
from reporting.bootstrap import build_runtime, close_runtime
from reporting.entrypoints.consumers import register_consumers
from reporting.gc_policy import settle_heap
from reporting.main import migrate_database
from reporting.service_layer.projection import (
    BATCH_MAX_RECORDS,
    COURSE_EVENT_TYPES,
    apply_or_isolate,
    decode_records,
)
from reporting.settings import ReportingSettings

__all__ = ["ProjectorConfig", "bench_projector", "run_projector_suite"]

LOCAL_PG_DSN = "postgresql://byggrygg@127.0.0.1:54329/postgres"
LOCAL_KAFKA_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_RESULTS_DIR = REPO_ROOT / "bench" / "results"
NAME = "projector"
TARGET_RATIO = 0.50
MESSAGES_PER_ENROLMENT = 4  # started, two answers, completed
COURSE_MESSAGES = 3  # created, published, assigned
POLL_S = 0.02
# The reference runs' names in the results: a plain consumer doing reporting's decoding and
# batch apply, and the decoding alone.
RAW_APPLY = "raw_consumer_decode_apply_batches"
RAW_DECODE = "raw_consumer_decode_only"
AT = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class ProjectorConfig:
    """How many enrolments (four messages each) and how many timed runs per side."""

    enrolments: int = 25_000
    repeats: int = 3
    partitions: int = 3  # like deploy/topics.toml's event topics
    timeout_s: float = 600.0  # one run may take this long before the bench gives up

    @property
    def messages(self) -> int:
        return COURSE_MESSAGES + MESSAGES_PER_ENROLMENT * self.enrolments


@dataclass(frozen=True)
class Timed:
    """One side's run: the whole of it (judged), how long its start took, and the steady
    part after the start (``Run`` of the messages after it over the time after it)."""

    run: Run
    start_s: float
    steady: Run


def _timed(messages: int, seconds: float, start_s: float, after_start: int) -> Timed:
    return Timed(
        run=Run(items=messages, seconds=seconds),
        start_s=start_s,
        steady=Run(items=messages - after_start, seconds=seconds - start_s),
    )


@dataclass(frozen=True)
class Topics:
    prefix: str
    catalogue: str  # full names, prefix included
    enrolment: str
    privacy_commands: str


def _record(event: IntegrationEvent, *, stream_id: str, topic: str) -> KafkaRecord:
    metadata = EventMetadata.new(subject_ref=getattr(event, "subject_ref", None), clock=lambda: AT)
    return kafka_record(
        topic=topic,
        stream_id=stream_id,
        ce_type=event.ce_type(),
        payload=event.model_dump(mode="json"),
        metadata=metadata_document(event, metadata),
        source_service="courses",
    )


def course_records(topics: Topics, enrolments: int) -> list[KafkaRecord]:
    """The course's three catalogue records, then four enrolment records per enrolment."""
    course_id, organisation = uuid.uuid4(), uuid.uuid4()
    choice, scale = uuid.uuid4(), uuid.uuid4()
    options = [uuid.uuid4() for _ in range(3)]
    modules = [
        contracts.CourseModule(
            module_id=uuid.uuid4(),
            title="Bench module",
            questions=[
                contracts.QuestionDefinition(
                    question_id=choice,
                    kind="single_choice",
                    prompt="Bench choice",
                    required=True,
                    options=[
                        contracts.QuestionOption(option_id=option, label=f"Option {i}")
                        for i, option in enumerate(options)
                    ],
                ),
                contracts.QuestionDefinition(
                    question_id=scale,
                    kind="scale",
                    prompt="Bench scale",
                    required=True,
                    scale=contracts.ScaleRange(low=1, high=5),
                ),
            ],
        )
    ]
    stream = f"course-{course_id}"
    records = [
        _record(event, stream_id=stream, topic=topics.catalogue)
        for event in (
            contracts.CourseCreated(
                course_id=course_id,
                title="Bench course",
                description="Bench",
                modules=modules,
                created_by="staff-bench",
            ),
            contracts.CoursePublished(
                course_id=course_id,
                version=1,
                title="Bench course",
                description="Bench",
                modules=modules,
                published_by="staff-bench",
            ),
            contracts.CourseAssigned(
                course_id=course_id, organisation_id=organisation, assigned_by="staff-bench"
            ),
        )
    ]
    for i in range(enrolments):
        enrolment_id, subject_ref = uuid.uuid4(), f"subj_{uuid.uuid4().hex}"
        ids = {
            "enrolment_id": enrolment_id,
            "course_id": course_id,
            "course_version": 1,
            "subject_ref": subject_ref,
            "organisation_id": organisation,
        }
        events: list[IntegrationEvent] = [
            contracts.EnrolmentStarted(
                **ids, user_id=uuid.uuid4(), origin="assignment", started_by="staff-bench"
            ),
            contracts.AnswerSubmitted(
                **ids,
                question_id=choice,
                kind="single_choice",
                selected_option_ids=[options[i % len(options)]],
            ),
            contracts.AnswerSubmitted(
                **ids, question_id=scale, kind="scale", scale_value=1 + i % 5
            ),
            contracts.CourseCompleted(**ids, completed_at=AT),
        ]
        records += [
            _record(event, stream_id=f"enrolment-{enrolment_id}", topic=topics.enrolment)
            for event in events
        ]
    return records


async def produce(bootstrap: str, records: list[KafkaRecord]) -> int:
    """Send ``records`` (the caller keeps no reference: they are let go here); how many."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        sent = [
            await producer.send(r.topic, r.value, key=r.key, headers=r.headers) for r in records
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    count = len(records)
    records.clear()
    return count


async def raw_run(
    bootstrap: str, topics: Topics, messages: int, config: ProjectorConfig, clock: Clock
) -> Timed:
    """Read every message with a plain consumer in a group of its own, then commit."""
    consumer = AIOKafkaConsumer(
        topics.catalogue,
        topics.enrolment,
        bootstrap_servers=bootstrap,
        group_id=unique("bench-projector-raw-"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    started = clock()
    await consumer.start()
    try:
        read = 0
        first: tuple[float, int] | None = None  # when the first records came, how many
        deadline = time.monotonic() + config.timeout_s
        while read < messages:
            if time.monotonic() > deadline:
                raise TimeoutError(f"raw consumer read {read} of {messages} messages")
            batches = await consumer.getmany(timeout_ms=500)
            read += sum(len(batch) for batch in batches.values())
            if first is None and read:
                first = (clock() - started, read)
        await consumer.commit()
        seconds = clock() - started
    finally:
        await consumer.stop()
    if read != messages or first is None:
        raise BenchMismatch(f"raw consumer read {read} messages, expected {messages}")
    return _timed(messages, seconds, *first)


@asynccontextmanager
async def reporting_settings(
    admin_dsn: str, bootstrap: str, topics: Topics
) -> AsyncIterator[ReportingSettings]:
    """A scratch reporting database (alembic + key ring) and settings pointing at it."""
    async with scratch_database(admin_dsn, prefix="bench_projector_") as dsn:
        await asyncio.to_thread(migrate_database, dsn)
        await migrate_keyring(dsn)
        with tempfile.TemporaryDirectory(prefix="bench-projector-") as tmp:
            master_key = Path(tmp) / "keyring-master.key"
            create_master_key_file(master_key)
            yield ReportingSettings(
                reporting_database_url=dsn,
                keyring_database_url=dsn,
                keyring_master_key_file=master_key,
                kafka_bootstrap=bootstrap,
                kafka_topic_prefix=topics.prefix,
                reporting_consumer_group=unique("bench-projector-"),
            )


PROJECTED_SQL = """
SELECT (SELECT count(*) FROM courses WHERE published_version = 1)
     + (SELECT count(*) FROM course_assignments)
     + (SELECT count(*) FROM enrolments)
     + (SELECT count(*) FROM answers)
     + (SELECT count(*) FROM enrolments WHERE completed_at IS NOT NULL)
"""


async def raw_apply_run(
    admin_dsn: str,
    bootstrap: str,
    topics: Topics,
    messages: int,
    config: ProjectorConfig,
    clock: Clock,
    *,
    apply: bool,
) -> Timed:
    """Reference: the plain consumer doing the subscribers' work without FastStream: fetched
    batches of up to ``BATCH_MAX_RECORDS``, each decoded as reporting decodes
    (``decode_records``) and, with ``apply``, applied in one transaction as reporting applies
    (``apply_or_isolate``, on a fresh database), then one offset commit per batch. Without
    ``apply`` it only decodes: splits the gap to raw into decoding's, the database's and the
    framework's shares."""
    async with reporting_settings(admin_dsn, bootstrap, topics) as settings:
        pool = await create_pool(settings.reporting_database_url)
        consumer = AIOKafkaConsumer(
            topics.catalogue,
            topics.enrolment,
            bootstrap_servers=bootstrap,
            group_id=unique("bench-projector-apply-"),
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        try:
            started = clock()
            await consumer.start()
            read = 0
            first: tuple[float, int] | None = None  # the first batch committed: when, how many
            deadline = time.monotonic() + config.timeout_s
            while read < messages:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"raw apply read {read} of {messages} messages")
                batches = await consumer.getmany(timeout_ms=500, max_records=BATCH_MAX_RECORDS)
                records = [record for batch in batches.values() for record in batch]
                if not records:
                    continue
                decoded = decode_records(records, COURSE_EVENT_TYPES)
                if decoded.unreadable:
                    raise BenchMismatch(f"{len(decoded.unreadable)} unreadable records")
                if apply:
                    async with transaction(pool) as conn:
                        await apply_or_isolate(conn, decoded.items)
                read += len(records)
                await consumer.commit()
                if first is None:
                    first = (clock() - started, read)
            seconds = clock() - started
        finally:
            await consumer.stop()
            await pool.close()
    if first is None:
        raise BenchMismatch("the plain consumer read nothing")
    return _timed(messages, seconds, *first)


async def committed_offsets(admin: AIOKafkaAdminClient, group: str, topics: Topics) -> int:
    """How many messages of the two topics ``group`` has committed (offsets summed)."""
    offsets = await admin.list_consumer_group_offsets(group)
    return sum(
        max(0, meta.offset)
        for tp, meta in offsets.items()
        if tp.topic in (topics.catalogue, topics.enrolment)
    )


async def projector_run(
    admin_dsn: str,
    bootstrap: str,
    topics: Topics,
    messages: int,
    config: ProjectorConfig,
    clock: Clock,
) -> Timed:
    """Reporting's subscribers on a fresh read model, until its consumer group has committed
    every message (each batch's offsets after its transaction); then the read model must
    hold every message's effect."""
    # CourseCreated and CoursePublished make one course row (published_version 1): one count
    # stands for both, so the read model is complete at `messages - 1`.
    expected = messages - 1
    async with reporting_settings(admin_dsn, bootstrap, topics) as settings:
        runtime = await build_runtime(settings)
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            subscriptions = Subscriptions(
                bootstrap=bootstrap,
                client_id="reporting-bench",
                topic_prefix=topics.prefix,
                register=register_consumers(runtime),
            )
            started = clock()
            committed = 0
            first: tuple[float, int] | None = None  # the first batch committed: when, how many
            stop = asyncio.Event()
            # Polled from the start, not from `running()` (which waits for every subscriber,
            # the participant's too): the projector may be projecting before.
            running = asyncio.create_task(subscriptions.run(stop), name="projector-bench")
            try:
                deadline = time.monotonic() + config.timeout_s
                while committed < messages:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"committed {committed} of {messages} messages")
                    if running.done():
                        running.result()  # re-raise what ended it
                        raise BenchMismatch("the subscribers stopped before the end")
                    await asyncio.sleep(POLL_S)
                    group = settings.reporting_consumer_group
                    committed = await committed_offsets(admin, group, topics)
                    if committed and first is None:
                        first = (clock() - started, committed)
                seconds = clock() - started
            finally:
                stop.set()
                await running
            projected = int(await runtime.pool.fetchval(PROJECTED_SQL))
        finally:
            await admin.close()
            await close_runtime(runtime)
    if projected != expected or committed != messages or first is None:
        raise BenchMismatch(
            f"committed {committed} of {messages} messages, read model holds {projected} "
            f"effects, expected {expected}"
        )
    return _timed(messages, seconds, *first)


STEADY_NAME = "reporting_projector_steady_throughput"


async def bench_projector(
    admin_dsn: str,
    bootstrap: str,
    config: ProjectorConfig,
    progress: Callable[[str], None],
    clock: Clock = DEFAULT_CLOCK,
) -> tuple[Comparison, Comparison]:
    """Produce the workload to scratch topics, then time every side ``repeats`` times: the
    judged comparison (whole runs) and the steady one (after each side's start)."""
    prefix = unique("bench.projector-") + "."
    topics = Topics(
        prefix=prefix,
        catalogue=prefix + contracts.CATALOGUE_TOPIC,
        enrolment=prefix + contracts.ENROLMENT_TOPIC,
        privacy_commands=prefix
        + ReportingSettings.model_fields["reporting_privacy_command_topic"].get_default(),
    )
    partitions = {
        topics.catalogue: config.partitions,
        topics.enrolment: config.partitions,
        topics.privacy_commands: 1,
    }
    async with named_scratch_topics(bootstrap, partitions):
        started = time.perf_counter()
        messages = await produce(bootstrap, course_records(topics, config.enrolments))
        # The heap as a served reporting settles it when its subscribers start, for every
        # side alike (they share this process).
        settle_heap()
        progress(
            f"projector: produced {messages} messages in {time.perf_counter() - started:.1f} s"
        )
        sides: dict[str, list[Timed]] = {"raw": [], "projector": [], RAW_APPLY: [], RAW_DECODE: []}
        for repeat in range(config.repeats):
            sides["raw"].append(await raw_run(bootstrap, topics, messages, config, clock))
            sides["projector"].append(
                await projector_run(admin_dsn, bootstrap, topics, messages, config, clock)
            )
            for name, apply in ((RAW_APPLY, True), (RAW_DECODE, False)):
                sides[name].append(
                    await raw_apply_run(
                        admin_dsn, bootstrap, topics, messages, config, clock, apply=apply
                    )
                )
            progress(
                f"projector: run {repeat + 1}/{config.repeats}: "
                + ", ".join(
                    f"{name} {runs[-1].run.per_second:.0f} msg/s (start {runs[-1].start_s:.2f} s, "
                    f"then {runs[-1].steady.per_second:.0f} msg/s)"
                    for name, runs in sides.items()
                )
            )
    starts = {
        f"{name}_seconds_to_start": [round(timed.start_s, 3) for timed in runs]
        for name, runs in sides.items()
    }

    def comparison(name: str, pick: Callable[[Timed], Run], timed_from: str) -> Comparison:
        return Comparison(
            name=name,
            unit="messages/s",
            subject_label="reporting batch subscribers (consume, decode, validate, apply, commit)",
            baseline_label="raw aiokafka consumer (read, commit)",
            subject_runs=[pick(timed) for timed in sides["projector"]],
            baseline_runs=[pick(timed) for timed in sides["raw"]],
            target_ratio=TARGET_RATIO,
            references={
                label: [pick(timed) for timed in sides[label]] for label in (RAW_APPLY, RAW_DECODE)
            },
            details={"messages": messages, "timed_from": timed_from, **starts},
        )

    return (
        comparison(
            "reporting_projector_throughput",
            lambda timed: timed.run,
            "each side's start (group join included; the broker's initial rebalance delay is 0)",
        ),
        comparison(
            STEADY_NAME,
            lambda timed: timed.steady,
            "after each side's start (the raw consumer's first records, the others' first "
            "committed batch); not judged",
        ),
    )


async def run_projector_suite(
    config: ProjectorConfig,
    admin_dsn: str,
    bootstrap: str,
    results_dir: Path,
    progress: Callable[[str], None],
) -> Comparison:
    """Run the benchmark and write ``<results_dir>/projector.json``; the judged comparison."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    machine = await machine_facts(admin_dsn)
    comparison, steady = await bench_projector(admin_dsn, bootstrap, config, progress)
    warning = busy_warning(machine["load_average_at_start"])
    doc = document(
        name=NAME,
        comparisons=[comparison, steady],
        machine={**machine, "load_average_at_end": load_average()},
        config={**asdict(config), "messages": config.messages},
        started_at=started_at.isoformat(),
        duration_s=time.perf_counter() - started,
        warnings=[warning] if warning else [],
    )
    path = write_document(doc, results_dir, NAME)
    print(summary_table([comparison, steady]))
    print(f"\nresults: {path} ({doc['duration_s']} s)")
    if warning:
        progress(f"warning: {warning}")
    return comparison


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--enrolments", type=int, default=ProjectorConfig.enrolments)
    parser.add_argument("--repeats", type=int, default=ProjectorConfig.repeats)
    args = parser.parse_args()
    config = ProjectorConfig(enrolments=args.enrolments, repeats=args.repeats)
    admin_dsn = os.environ.get("BYGGRYGG_PG_DSN", LOCAL_PG_DSN)
    bootstrap = os.environ.get("BYGGRYGG_KAFKA_BOOTSTRAP", LOCAL_KAFKA_BOOTSTRAP)
    results_dir = Path(os.environ.get("BYGGRYGG_BENCH_RESULTS_DIR") or DEFAULT_RESULTS_DIR)
    comparison = asyncio.run(
        run_projector_suite(config, admin_dsn, bootstrap, results_dir, _progress)
    )
    sys.exit(0 if comparison.met else 1)


if __name__ == "__main__":
    main()
