"""One erasure across every service and the sub-processor simulator, end to end (target: p50 <
300 ms, p99 < 1 s on this machine).

On the bench's own running platform (``live_platform``): staff register an organisation and
its learners through identity's API (each with a licence, and a record at the HeiHallo
simulator), then file erasures one at a time as platform staff (``POST /requests``,
``{"kind": "erasure", "subject_ref": ...}``). An erasure's latency runs from sending the
request until its completion record (R19) has been read back and verified: hash, Ed25519
signature and link to the record before it (``orchestrator_client.RecordFollower``). In
between the orchestrator publishes one command per participant on Kafka (identity, courses,
consent), each erases and replies on Kafka, the simulator is sent a signed request and calls
back, and the orchestrator completes the request and appends the record in one transaction.

The record is polled every ``poll_interval_s`` (its half is in every sample on average; it is
in the results). The orchestrator's own view (``completed_at - received_at``) is reported too:
the same erasure without the bench's HTTP round trips and polling.

One erasure at a time: this is the latency of one request, not the platform's throughput
(the contract-end benchmark measures many at once).
"""

from __future__ import annotations

import asyncio
import random
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Final

import httpx
from identity_seed import IdentityAdmin, Learner, Organisation
from live_platform import LivePlatform
from machine import load_average
from orchestrator_client import FINAL_STATES, OrchestratorCalls, RecordFollower, VerifiedRecord
from stats import DEFAULT_CLOCK, BenchMismatch, Clock, Run, percentile
from targets import Limit, Measurement

__all__ = [
    "DESCRIPTION",
    "LIMITS",
    "NAME",
    "ErasureConfig",
    "bench_erasures",
    "seed_simulator",
    "staff_calls",
]

NAME: Final = "erasure_end_to_end"
DESCRIPTION: Final = (
    "one erasure filed by staff, from POST /requests to its completion record read back and "
    "verified (identity, courses, consent over Kafka; HeiHallo simulator over signed webhooks)"
)
LIMITS: Final = (Limit("p50_ms", 300.0), Limit("p99_ms", 1000.0))


@dataclass(frozen=True)
class ErasureConfig:
    """``repeats`` runs of ``erasures`` erasures after ``warmup`` untimed ones."""

    erasures: int
    repeats: int
    warmup: int
    poll_interval_s: float = 0.01
    timeout_s: float = 60.0
    seed_concurrency: int = 4
    seed: int = 20250105


@dataclass(frozen=True)
class _Sample:
    seconds: float
    server_seconds: float
    record: VerifiedRecord


async def staff_calls(platform: LivePlatform, identity: IdentityAdmin) -> OrchestratorCalls:
    """Staff's calls on the platform's orchestrator (logged in at identity when needed)."""

    async def renew() -> str:
        return await identity.log_in(platform.staff_email, platform.staff_password)

    http = httpx.AsyncClient(base_url=platform.urls["privacy-orchestrator"], timeout=30.0)
    return OrchestratorCalls(http=http, renew=renew)


async def seed_simulator(sim: httpx.AsyncClient, learners: Sequence[Learner]) -> None:
    """A (made-up) record at HeiHallo for every learner, so its erasure has work there too."""
    for number, learner in enumerate(learners):
        response = await sim.put(
            f"/admin/subjects/{learner.subject_ref}",
            json={"display_name": f"Bench Learner {number}", "phone": "+47 90 00 00 00"},
        )
        if response.status_code != 204:
            raise BenchMismatch(f"the simulator refused a record: {response.status_code}")


async def bench_erasures(
    platform: LivePlatform,
    config: ErasureConfig,
    *,
    progress: Callable[[str], None],
    clock: Clock = DEFAULT_CLOCK,
) -> Measurement:
    """Seed learners, then time ``config``'s erasures on ``platform``."""
    rng = random.Random(config.seed)
    total = config.warmup + config.repeats * config.erasures
    async with (
        httpx.AsyncClient(base_url=platform.urls["identity"], timeout=30.0) as identity_http,
        httpx.AsyncClient(base_url=platform.simulator_url, timeout=30.0) as sim_http,
    ):
        identity = IdentityAdmin(identity_http, run_id=platform.topic_prefix.strip("."), rng=rng)
        staff_token = await identity.log_in(platform.staff_email, platform.staff_password)
        organisation = await identity.register_organisation(staff_token)
        progress(f"{NAME}: seeding {total} learners through identity's API")
        started = clock()
        learners = await identity.add_learners(
            organisation, total, concurrency=config.seed_concurrency
        )
        seed_seconds = clock() - started
        await seed_simulator(sim_http, learners)
        calls = await staff_calls(platform, identity)
        try:
            follower = RecordFollower(calls, await calls.public_key())
            queue = list(learners)
            progress(f"{NAME}: {config.warmup} warm-up erasures")
            for _ in range(config.warmup):
                await _erase(calls, follower, organisation, queue.pop(), config, clock)
            runs: list[Run] = []
            samples: list[_Sample] = []
            for repeat in range(config.repeats):
                progress(f"{NAME}: run {repeat + 1}/{config.repeats}, {config.erasures} erasures")
                start = clock()
                batch = [
                    await _erase(calls, follower, organisation, queue.pop(), config, clock)
                    for _ in range(config.erasures)
                ]
                runs.append(Run(len(batch), clock() - start, [s.seconds for s in batch]))
                samples += batch
        finally:
            await calls.http.aclose()
    return _measurement(runs, samples, config, seed_rate=total / seed_seconds)


async def _erase(
    calls: OrchestratorCalls,
    follower: RecordFollower,
    organisation: Organisation,
    learner: Learner,
    config: ErasureConfig,
    clock: Clock,
) -> _Sample:
    start = clock()
    request_id = await calls.file_erasure(learner.subject_ref, organisation.organisation_id)
    deadline = start + config.timeout_s
    while True:
        verified = [r for r in await follower.poll() if r.request_id == request_id]
        if verified:
            break
        if clock() > deadline:
            state = (await calls.request(request_id))["state"]
            raise BenchMismatch(
                f"erasure {request_id} has no completion record after {config.timeout_s}s "
                f"(state {state})"
            )
        await asyncio.sleep(config.poll_interval_s)
    seconds = clock() - start
    view = await calls.request(request_id)
    if view["state"] not in FINAL_STATES or view["state"] != verified[0].outcome:
        raise BenchMismatch(
            f"erasure {request_id}: record says {verified[0].outcome}, request is {view['state']}"
        )
    server = datetime.fromisoformat(view["completed_at"]) - datetime.fromisoformat(
        view["received_at"]
    )
    return _Sample(seconds, server.total_seconds(), verified[0])


def record_steps(record: VerifiedRecord) -> dict[str, float]:
    """Seconds from the request's receipt to each step its completion record dates: each
    participant's reply, each sub-processor's request sent and confirmation, completion."""
    document = record.document
    received = datetime.fromisoformat(document["request"]["received_at"])

    def since(at: str | None) -> float | None:
        return None if at is None else (datetime.fromisoformat(at) - received).total_seconds()

    steps: dict[str, float | None] = {"completed": since(document["completed_at"])}
    for report in document.get("participants", []):
        steps[f"{report['participant']} replied"] = since(report["replied_at"])
    for report in document.get("sub_processors", []):
        name = report.get("name") or report.get("sub_processor") or "sub-processor"
        steps[f"{name} request sent"] = since(report.get("sent_at"))
        steps[f"{name} confirmed"] = since(report.get("confirmed_at"))
    return {step: seconds for step, seconds in steps.items() if seconds is not None}


def steps_p50_ms(records: Sequence[VerifiedRecord]) -> dict[str, float]:
    """The median time from receipt to each step over ``records``, in order of that time."""
    per_step: dict[str, list[float]] = {}
    for record in records:
        for step, seconds in record_steps(record).items():
            per_step.setdefault(step, []).append(seconds)
    medians = {step: round(_ms(values, 0.5), 1) for step, values in per_step.items()}
    return dict(sorted(medians.items(), key=lambda item: item[1]))


def _ms(samples: Sequence[float], quantile: float) -> float:
    return percentile(samples, quantile) * 1000.0


def _measurement(
    runs: Sequence[Run], samples: Sequence[_Sample], config: ErasureConfig, *, seed_rate: float
) -> Measurement:
    latencies = [s.seconds for s in samples]
    server = [s.server_seconds for s in samples]
    return Measurement(
        name=NAME,
        description=DESCRIPTION,
        metrics={
            "p50_ms": _ms(latencies, 0.50),
            "p99_ms": _ms(latencies, 0.99),
            "mean_ms": statistics.fmean(latencies) * 1000.0,
            "max_ms": max(latencies) * 1000.0,
            "server_p50_ms": _ms(server, 0.50),
            "server_p99_ms": _ms(server, 0.99),
            "erasures_per_second_one_at_a_time": len(latencies) / sum(r.seconds for r in runs),
        },
        limits=LIMITS,
        details={
            "samples": len(samples),
            "runs_p50_ms": [round(run.latency_ms(0.50) or 0.0, 3) for run in runs],
            "runs_p99_ms": [round(run.latency_ms(0.99) or 0.0, 3) for run in runs],
            "outcomes": dict(Counter(s.record.outcome for s in samples)),
            "participants_per_record": sorted({s.record.participants for s in samples}),
            "sub_processors_per_record": sorted({s.record.sub_processors for s in samples}),
            "steps_p50_ms": steps_p50_ms([s.record for s in samples]),
            "poll_interval_ms": config.poll_interval_s * 1000.0,
            "seeding_users_per_second": round(seed_rate, 2),
            "config": asdict(config),
            # Other work on the machine slows every service of the run: compare with this.
            "load_average_at_end": load_average(),
        },
    )
