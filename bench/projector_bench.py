"""Reporting's projector throughput against a raw aiokafka consumer (target: >= 50 % of raw).

Workload: courses' events as courses' outbox relay publishes them (binary-mode CloudEvents,
keyed by stream), on scratch topics under a scratch topic prefix: one published course with a
single-choice and a scale question, assigned to one organisation, then per enrolment
``EnrolmentStarted``, two ``AnswerSubmitted`` and ``CourseCompleted`` (four messages each).

Subject: reporting's real projector path, the FastStream subscribers reporting runs in
production (``reporting.entrypoints.consumers.register_consumers`` through
``byggrygg_shared.subscriptions.Subscriptions`` with the topic prefix, a consumer group of
its own), on a scratch reporting database migrated by reporting's alembic migrations: timed
from starting the subscribers until the read model holds every message's effect (batches of
up to ``BATCH_MAX_RECORDS`` consumed, decoded, applied in one transaction each, one offset
commit each). The read model is polled from the start: the broker reports itself started
only after its second subscriber (the privacy participant, same group) joined, about 3 s
later (the projector's consumer rejoins at its next heartbeat), while the projector has
long been projecting.

Baseline: a plain ``AIOKafkaConsumer`` in a group of its own reading the same messages from
the same topics, timed from its start until it has read all of them and committed.

References (not judged): the plain consumer doing the subscribers' work without FastStream
(the same batches decoded with ``decode_records`` and applied with ``apply_or_isolate`` in a
transaction each, on a fresh database, one commit per batch), and the plain consumer only
decoding them: they split the gap into decoding's, the database's and the framework's
shares.

All sides start cold (the local broker's ``group.initial.rebalance.delay.ms`` is 0), alternate
``repeats`` times, and each projector run gets a fresh database; the median run counts.

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
from reporting.entrypoints.consumers import BATCH_MAX_RECORDS, register_consumers
from reporting.main import migrate_database
from reporting.service_layer.projection import (
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
POLL_S = 0.05
# The reference runs' names in the results: a plain consumer doing reporting's decoding and
# batch apply, and the decoding alone.
RAW_APPLY = "raw_consumer_decode_apply_batches"
RAW_DECODE = "raw_consumer_decode_only"
AT = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class ProjectorConfig:
    """How many enrolments (four messages each) and how many timed runs per side."""

    enrolments: int = 2000
    repeats: int = 3
    partitions: int = 3  # like deploy/topics.toml's event topics
    timeout_s: float = 600.0  # one run may take this long before the bench gives up

    @property
    def messages(self) -> int:
        return COURSE_MESSAGES + MESSAGES_PER_ENROLMENT * self.enrolments


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


async def produce(bootstrap: str, records: list[KafkaRecord]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        sent = [
            await producer.send(r.topic, r.value, key=r.key, headers=r.headers) for r in records
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def raw_run(
    bootstrap: str, topics: Topics, messages: int, config: ProjectorConfig, clock: Clock
) -> Run:
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
        deadline = time.monotonic() + config.timeout_s
        while read < messages:
            if time.monotonic() > deadline:
                raise TimeoutError(f"raw consumer read {read} of {messages} messages")
            batches = await consumer.getmany(timeout_ms=500)
            read += sum(len(batch) for batch in batches.values())
        await consumer.commit()
        seconds = clock() - started
    finally:
        await consumer.stop()
    if read != messages:
        raise BenchMismatch(f"raw consumer read {read} messages, expected {messages}")
    return Run(items=messages, seconds=seconds)


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
) -> Run:
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
            seconds = clock() - started
        finally:
            await consumer.stop()
            await pool.close()
    return Run(items=messages, seconds=seconds)


async def projector_run(
    admin_dsn: str,
    bootstrap: str,
    topics: Topics,
    messages: int,
    config: ProjectorConfig,
    clock: Clock,
    first_effects: list[float] | None = None,
) -> Run:
    """Reporting's subscribers on a fresh read model, until it shows every message's effect;
    appends to ``first_effects`` how long the first effect took to show (the start's share:
    the group join, and the rebalance when the participant joined it first)."""
    # CourseCreated and CoursePublished make one course row (published_version 1): one count
    # stands for both, so the read model is complete at `messages - 1`.
    expected = messages - 1
    async with reporting_settings(admin_dsn, bootstrap, topics) as settings:
        runtime = await build_runtime(settings)
        try:
            subscriptions = Subscriptions(
                bootstrap=bootstrap,
                client_id="reporting-bench",
                topic_prefix=topics.prefix,
                register=register_consumers(runtime),
            )
            started = clock()
            projected = 0
            first_seen: float | None = None
            stop = asyncio.Event()
            # Polled from the start, not from `running()`: the broker counts as started only
            # once its last subscriber (the participant) joined the group, which rebalances
            # the projector's consumer (up to a heartbeat, 3 s) while it is already projecting.
            running = asyncio.create_task(subscriptions.run(stop), name="projector-bench")
            try:
                deadline = time.monotonic() + config.timeout_s
                while projected < expected:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"read model holds {projected} of {expected} effects")
                    if running.done():
                        running.result()  # re-raise what ended it
                        raise BenchMismatch("the subscribers stopped before the end")
                    await asyncio.sleep(POLL_S)
                    projected = int(await runtime.pool.fetchval(PROJECTED_SQL))
                    if projected and first_effects is not None and first_seen is None:
                        first_seen = clock() - started
                        first_effects.append(first_seen)
                seconds = clock() - started
            finally:
                stop.set()
                await running
        finally:
            await close_runtime(runtime)
    if projected != expected:
        raise BenchMismatch(f"read model holds {projected} effects, expected {expected}")
    return Run(items=messages, seconds=seconds)


async def bench_projector(
    admin_dsn: str,
    bootstrap: str,
    config: ProjectorConfig,
    progress: Callable[[str], None],
    clock: Clock = DEFAULT_CLOCK,
) -> Comparison:
    """Produce the workload to scratch topics, then time both sides ``repeats`` times."""
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
        records = course_records(topics, config.enrolments)
        started = time.perf_counter()
        await produce(bootstrap, records)
        progress(
            f"projector: produced {len(records)} messages in {time.perf_counter() - started:.1f} s"
        )
        raw_runs: list[Run] = []
        projector_runs: list[Run] = []
        apply_runs: list[Run] = []
        decode_runs: list[Run] = []
        first_effects: list[float] = []
        for repeat in range(config.repeats):
            raw_runs.append(await raw_run(bootstrap, topics, len(records), config, clock))
            projector_runs.append(
                await projector_run(
                    admin_dsn, bootstrap, topics, len(records), config, clock, first_effects
                )
            )
            apply_runs.append(
                await raw_apply_run(
                    admin_dsn, bootstrap, topics, len(records), config, clock, apply=True
                )
            )
            decode_runs.append(
                await raw_apply_run(
                    admin_dsn, bootstrap, topics, len(records), config, clock, apply=False
                )
            )
            progress(
                f"projector: run {repeat + 1}/{config.repeats}: raw "
                f"{raw_runs[-1].per_second:.0f} msg/s, projector "
                f"{projector_runs[-1].per_second:.0f} msg/s (first effect after "
                f"{first_effects[-1] if first_effects else float('nan'):.2f} s), "
                "raw consumer + apply "
                f"{apply_runs[-1].per_second:.0f} msg/s (decode only "
                f"{decode_runs[-1].per_second:.0f} msg/s)"
            )
    comparison = Comparison(
        name="reporting_projector_throughput",
        unit="messages/s",
        subject_label="reporting batch subscribers (consume, decode, apply, commit)",
        baseline_label="raw aiokafka consumer (read, commit)",
        subject_runs=projector_runs,
        baseline_runs=raw_runs,
        target_ratio=TARGET_RATIO,
        references={RAW_APPLY: apply_runs, RAW_DECODE: decode_runs},
        details={
            "messages": len(records),
            "projector_seconds_to_first_effect": [round(seconds, 3) for seconds in first_effects],
            "timed_from": "each side's start (group join included; the broker's initial "
            "rebalance delay is 0)",
        },
    )
    return comparison


async def run_projector_suite(
    config: ProjectorConfig,
    admin_dsn: str,
    bootstrap: str,
    results_dir: Path,
    progress: Callable[[str], None],
) -> Comparison:
    """Run the benchmark and write ``<results_dir>/projector.json``; the comparison."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    machine = await machine_facts(admin_dsn)
    comparison = await bench_projector(admin_dsn, bootstrap, config, progress)
    warning = busy_warning(machine["load_average_at_start"])
    doc = document(
        name=NAME,
        comparisons=[comparison],
        machine={**machine, "load_average_at_end": load_average()},
        config={**asdict(config), "messages": config.messages},
        started_at=started_at.isoformat(),
        duration_s=time.perf_counter() - started,
        warnings=[warning] if warning else [],
    )
    path = write_document(doc, results_dir, NAME)
    print(summary_table([comparison]))
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
