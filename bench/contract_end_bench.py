"""A contract end for many users: from identity's ContractEnded to every user's erasure
completed (target for 10,000 users: < 60 s on this machine).

On the bench's own platform (``live_platform``), started with the export offer set to 0 days
(``BYGGRYGG_PRIVACY_ORCHESTRATOR_CONTRACT_EXPORT_OFFER_DAYS=0``: erasure is due as soon as the
orchestrator records the contract end; in production the controller first gets its data back,
art. 28(3)(g)):

1. staff register an organisation through identity's API; its users are made either
   - ``events`` (default): ``LicenceGranted`` records for ``users`` made-up subjects produced
     straight to the run's scratch ``identity.user.v1`` (what identity publishes when an
     administrator grants a licence); the orchestrator lists them in its subject directory,
     the participants hold nothing about them, so every erasure is the full round of commands,
     replies, sub-processor request and callback, on subjects with no rows to delete; or
   - ``api``: real users through identity's API (invite, accept, licence): every participant
     holds data, at about 50 ms of argon2id per user to make them;
2. the bench waits until the orchestrator's directory lists every subject of the organisation
   (read in its database: there is no API for it, and this is set-up, not measured);
3. the clock starts; staff end the contract (``POST /organisations/{id}/end-contract``);
   identity publishes ContractEnded; the orchestrator records it, its retention scheduler
   files an automatic erasure per subject in batches, each fans out to every participant and
   the simulator;
4. the clock stops when every subject's erasure has a completion record, each read back and
   verified (``orchestrator_client.RecordFollower``).

Milestones (contract end recorded, every erasure filed, first and last record) come from the
orchestrator's own timestamps, relative to the start. When the orchestrator cannot do this
yet, the result says "not measurable yet" and why, never a number.
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Final

import asyncpg
import cpu
import httpx
from aiokafka import AIOKafkaProducer
from erasure_bench import seed_simulator, staff_calls
from identity_seed import IdentityAdmin, Learner, Organisation
from live_platform import LivePlatform
from machine import load_average
from orchestrator_client import RecordFollower, VerifiedRecord
from stats import DEFAULT_CLOCK, BenchMismatch, Clock
from targets import Limit, Measurement, not_measurable

from byggrygg_shared.contracts.identity import USER_TOPIC, LicenceGranted
from byggrygg_shared.envelope import EventMetadata, kafka_record
from byggrygg_shared.eventstore import metadata_document
from privacy_orchestrator.settings import OrchestratorSettings

__all__ = [
    "DESCRIPTION",
    "NAME",
    "ContractEndConfig",
    "bench_contract_end",
    "contract_end_env",
    "limits_for",
]

NAME: Final = "contract_end_erasures"
DESCRIPTION: Final = (
    "a contract end: from POST end-contract (identity's ContractEnded) until every subject of "
    "the organisation has a verified completion record of its automatic erasure"
)
TARGET_USERS: Final = 10_000
LIMIT: Final = Limit("seconds", 60.0)
TRIGGER: Final = "contract_ended"
OFFER_DAYS_SETTING: Final = "privacy_orchestrator_contract_export_offer_days"
SCHEDULER_MODULE: Final = "privacy_orchestrator.service_layer.retention"


@dataclass(frozen=True)
class ContractEndConfig:
    """``users`` subjects made with ``seed_with``; the whole run may take ``timeout_s``."""

    users: int
    seed_with: str = "events"  # "events" | "api"
    timeout_s: float = 2400.0  # then the result is what completed by then (a lower bound)
    stall_timeout_s: float = 120.0  # no new completion for this long: the run failed
    poll_interval_s: float = 0.5
    directory_timeout_s: float = 300.0
    api_concurrency: int = 4
    seed: int = 20250106


def contract_end_env(config: ContractEndConfig) -> dict[str, str]:
    """The platform settings this benchmark needs: erasure due as soon as the contract ends."""
    del config  # every run needs the same; the config may add knobs later
    return {"BYGGRYGG_PRIVACY_ORCHESTRATOR_CONTRACT_EXPORT_OFFER_DAYS": "0"}


def limits_for(config: ContractEndConfig) -> tuple[Limit, ...]:
    """The 60 s target is for 10,000 users; a smaller run (--quick) has none."""
    return (LIMIT,) if config.users >= TARGET_USERS else ()


def missing_feature() -> str | None:
    """Why the orchestrator cannot erase at a contract end yet, or None when it can."""
    if OFFER_DAYS_SETTING not in OrchestratorSettings.model_fields:
        return f"the orchestrator has no setting {OFFER_DAYS_SETTING} (contract-end trigger)"
    if importlib.util.find_spec(SCHEDULER_MODULE) is None:
        return f"{SCHEDULER_MODULE} (the retention scheduler filing the erasures) does not exist"
    return None


async def bench_contract_end(
    platform: LivePlatform,
    config: ContractEndConfig,
    *,
    progress: Callable[[str], None],
    clock: Clock = DEFAULT_CLOCK,
) -> Measurement:
    limits = limits_for(config)
    missing = missing_feature()
    if missing is not None:
        return not_measurable(NAME, DESCRIPTION, missing, limits)
    rng = random.Random(config.seed)
    orchestrator_db = await asyncpg.connect(platform.database_urls["privacy-orchestrator"])
    try:
        async with (
            httpx.AsyncClient(base_url=platform.urls["identity"], timeout=30.0) as identity_http,
            httpx.AsyncClient(base_url=platform.simulator_url, timeout=30.0) as sim_http,
        ):
            identity = IdentityAdmin(
                identity_http, run_id=f"ce-{platform.topic_prefix.strip('.')}", rng=rng
            )
            staff_token = await identity.log_in(platform.staff_email, platform.staff_password)
            organisation = await identity.register_organisation(staff_token)
            progress(f"{NAME}: making {config.users} users ({config.seed_with})")
            started = clock()
            learners = await _seed(platform, identity, organisation, config, rng, progress)
            seed_seconds = clock() - started
            await seed_simulator(sim_http, learners)
            organisation_id = uuid.UUID(organisation.organisation_id)
            subjects = await _wait_for_directory(
                orchestrator_db, organisation_id, len(learners), config, progress, clock
            )
            calls = await staff_calls(platform, identity)
            try:
                follower = RecordFollower(calls, await calls.public_key())
                await follower.poll()  # skip the records of earlier benchmarks (verified too)
                progress(f"{NAME}: ending the contract of {subjects} subjects")
                staff_token = await identity.log_in(platform.staff_email, platform.staff_password)
                started_at = datetime.now(UTC)
                cpu_before = cpu.snapshot(platform.process_groups)
                start = clock()
                await identity.end_contract(
                    staff_token, organisation.organisation_id, started_at.date()
                )
                records = await _wait_for_records(
                    follower, organisation.organisation_id, subjects, config, progress, clock, start
                )
                seconds = clock() - start
                cpu_used = cpu.cpu_between(cpu_before, cpu.snapshot(platform.process_groups))
                if len(records) < subjects:
                    progress(f"{NAME}: stopped after {seconds:.0f}s, {len(records)} completed")
            finally:
                await calls.http.aclose()
            milestones = await _milestones(orchestrator_db, organisation_id, started_at)
    finally:
        await orchestrator_db.close()
    return Measurement(
        name=NAME,
        description=DESCRIPTION,
        metrics=_metrics(seconds, subjects, len(records), milestones),
        limits=limits,
        details={
            "target_applies_to_users": TARGET_USERS,
            "complete": len(records) == subjects,
            "note": None
            if len(records) == subjects
            else f"stopped after timeout_s with {len(records)} of {subjects} erasures completed: "
            "seconds is a lower bound, projected_seconds extrapolates the rate after the offer "
            "ended",
            "seeded_with": config.seed_with,
            "seeding_users_per_second": round(len(learners) / seed_seconds, 2),
            "milestones_s": milestones,
            "outcomes": dict(Counter(r.outcome for r in records)),
            "sub_processors_per_record": sorted({r.sub_processors for r in records}),
            "participants_per_record": sorted({r.participants for r in records}),
            # Where the time went: each service's CPU seconds over the run (PostgreSQL and
            # Kafka serve them all and are not split), per completed erasure, and how busy
            # the machine's cores were (other work included).
            "cpu_seconds_by_service": cpu_used.by_service,
            "cpu_ms_per_erasure_by_service": cpu_used.per_item_ms(len(records)),
            "machine_busy_share": cpu_used.machine_busy_share,
            "config": asdict(config),
            # Other work on the machine slows every service of the run: compare with this.
            "load_average_at_end": load_average(),
        },
    )


def _metrics(
    seconds: float, subjects: int, completed: int, milestones: dict[str, float | None]
) -> dict[str, float]:
    metrics = {
        "seconds": seconds,
        "subjects": float(subjects),
        "completed": float(completed),
        "erasures_per_second": completed / seconds,
    }
    due = milestones["offer_ended"]
    if due is not None and seconds > due:
        # The erasure machinery alone, without the wait for the retention scheduler's pass.
        rate = completed / (seconds - due)
        metrics["seconds_after_offer_ended"] = seconds - due
        metrics["erasures_per_second_after_offer_ended"] = rate
        if completed < subjects and rate > 0:
            metrics["projected_seconds"] = due + subjects / rate
    return metrics


async def _seed(
    platform: LivePlatform,
    identity: IdentityAdmin,
    organisation: Organisation,
    config: ContractEndConfig,
    rng: random.Random,
    progress: Callable[[str], None],
) -> list[Learner]:
    if config.seed_with == "api":

        def report(done: int) -> None:
            if done % 500 == 0:
                progress(f"{NAME}: {done}/{config.users} users made")

        return await identity.add_learners(
            organisation, config.users, concurrency=config.api_concurrency, on_progress=report
        )
    return await _licences_on_kafka(platform, organisation, config.users, rng)


async def _licences_on_kafka(
    platform: LivePlatform, organisation: Organisation, count: int, rng: random.Random
) -> list[Learner]:
    """``count`` LicenceGranted records, as identity's relay would publish them."""

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    organisation_id = uuid.UUID(organisation.organisation_id)
    granted_by = str(new_id())
    producer = AIOKafkaProducer(
        bootstrap_servers=platform.env["BYGGRYGG_KAFKA_BOOTSTRAP"],
        client_id="bench-contract-end",
        enable_idempotence=True,
        acks="all",
    )
    learners: list[Learner] = []
    await producer.start()
    try:
        deliveries = []
        for _ in range(count):
            user_id = new_id()
            learner = Learner(str(user_id), f"subj_{rng.getrandbits(128):032x}")
            event = LicenceGranted(
                user_id=user_id,
                subject_ref=learner.subject_ref,
                organisation_id=organisation_id,
                licence_id=new_id(),
                granted_by=granted_by,
            )
            meta = EventMetadata.new(
                subject_ref=learner.subject_ref, tenant_id=str(organisation_id), new_id=new_id
            )
            record = kafka_record(
                topic=platform.topic_prefix + USER_TOPIC,
                stream_id=f"user-{user_id}",
                ce_type=event.ce_type(),
                payload=event.model_dump(mode="json"),
                metadata=metadata_document(event, meta),
            )
            deliveries.append(
                await producer.send(
                    record.topic, value=record.value, key=record.key, headers=record.headers
                )
            )
            learners.append(learner)
        await asyncio.gather(*deliveries)
    finally:
        await producer.stop()
    return learners


async def _directory_size(conn: asyncpg.Connection, organisation_id: uuid.UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM organisation_subjects WHERE organisation_id = $1", organisation_id
    )
    return count


async def _wait_for_directory(
    conn: asyncpg.Connection,
    organisation_id: uuid.UUID,
    learners: int,
    config: ContractEndConfig,
    progress: Callable[[str], None],
    clock: Clock,
) -> int:
    """Wait until the orchestrator lists at least every learner; the directory's size then
    (with API seeding it also lists the administrator and the contact person)."""
    deadline = clock() + config.directory_timeout_s
    while (size := await _directory_size(conn, organisation_id)) < learners:
        if clock() > deadline:
            raise BenchMismatch(
                f"the orchestrator lists {size} of {learners} subjects after "
                f"{config.directory_timeout_s}s"
            )
        await asyncio.sleep(config.poll_interval_s)
    progress(f"{NAME}: the orchestrator lists {size} subjects")
    return size


async def _wait_for_records(
    follower: RecordFollower,
    organisation_id: str,
    subjects: int,
    config: ContractEndConfig,
    progress: Callable[[str], None],
    clock: Clock,
    start: float,
) -> list[VerifiedRecord]:
    """The verified completion records of this contract end's erasures: all of them, or
    those there when ``config.timeout_s`` ran out (a result: the target is missed). No new
    record for ``config.stall_timeout_s`` is a failure: something is stuck."""
    ours: list[VerifiedRecord] = []
    last_report = last_progress = start
    while len(ours) < subjects:
        found = [
            record
            for record in await follower.poll()
            if record.trigger == TRIGGER and record.organisation_id == organisation_id
        ]
        ours += found
        now = clock()
        if found:
            last_progress = now
        if now - start > config.timeout_s:
            return ours
        if now - last_progress > config.stall_timeout_s:
            raise BenchMismatch(
                f"{len(ours)} of {subjects} erasures completed after {now - start:.0f}s, "
                f"the last one {now - last_progress:.0f}s ago"
            )
        if now - last_report >= 10.0:
            progress(f"{NAME}: {len(ours)}/{subjects} erasures completed after {now - start:.0f}s")
            last_report = now
        if len(ours) < subjects:
            await asyncio.sleep(config.poll_interval_s)
    if len(ours) > subjects:
        raise BenchMismatch(f"{len(ours)} completion records for {subjects} subjects")
    return ours


async def _milestones(
    conn: asyncpg.Connection, organisation_id: uuid.UUID, started_at: datetime
) -> dict[str, float | None]:
    """Seconds from the start to the orchestrator's own timestamps of this contract end."""
    row = await conn.fetchrow(
        "SELECT recorded_at, offer_ended_at, erased_at FROM contract_ends"
        " WHERE organisation_id = $1",
        organisation_id,
    )
    if row is None:
        raise BenchMismatch("the orchestrator has no contract end for the organisation")

    def after(at: datetime | None) -> float | None:
        return None if at is None else round((at - started_at).total_seconds(), 3)

    return {
        "contract_end_recorded": after(row["recorded_at"]),
        "offer_ended": after(row["offer_ended_at"]),
        "all_erasures_filed": after(row["erased_at"]),
    }
