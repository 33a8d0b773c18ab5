"""The privacy benchmarks of issue 5, in one run on this machine's PostgreSQL and Kafka:

1. ``kafka_roundtrip``: a raw aiokafka produce-to-consume round trip on a scratch topic, the
   floor under every Kafka hop of a request (no target; for comparison);
2. ``erasure_end_to_end``: one erasure through every service and the sub-processor simulator
   (p50 < 300 ms, p99 < 1 s);
3. ``contract_end_erasures``: a contract end for many users, from identity's ContractEnded to
   every user's erasure completed (10,000 users < 60 s).

2 and 3 run on the bench's own processes of every service and of the simulator
(``live_platform``: scratch databases, a scratch topic prefix, own ports), never on
``make up``'s. The run's logs and keys are in a work directory under ``.run/bench/``, removed
after a good run and kept (its path printed) when something failed.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, Final

import contract_end_bench
import erasure_bench
import httpx
from contract_end_bench import ContractEndConfig, bench_contract_end, contract_end_env
from erasure_bench import ErasureConfig, bench_erasures
from identity_seed import SeedFailed
from kafka_roundtrip import RoundTripConfig, RoundTripResult, bench_roundtrip
from live_platform import PlatformStartFailed, running_platform
from machine import REPO_ROOT
from orchestrator_client import RequestRefused
from scratch import scratch_topics
from stats import BenchMismatch
from targets import Limit, Measurement, failed

from privacy_orchestrator.domain.errors import RecordVerificationFailed

__all__ = ["BENCHMARKS", "PrivacyConfig", "run_privacy"]

WORK_ROOT: Final = REPO_ROOT / ".run" / "bench"
BENCHMARKS: Final = ("kafka_roundtrip", erasure_bench.NAME, contract_end_bench.NAME)
# What a benchmark on the running services may fail with; anything else is a bug of the bench.
FAILURES: Final = (
    BenchMismatch,
    RequestRefused,
    SeedFailed,
    RecordVerificationFailed,
    httpx.HTTPError,
)


@dataclass(frozen=True)
class PrivacyConfig:
    roundtrip: RoundTripConfig
    erasure: ErasureConfig
    contract_end: ContractEndConfig


def roundtrip_measurement(result: RoundTripResult) -> Measurement:
    document = result.document()
    throughput, ping = document["throughput"], document["ping"]
    return Measurement(
        name="kafka_roundtrip",
        description="raw aiokafka produce -> consume on one scratch topic (idempotent, "
        "acks=all): throughput with latency under load, and one record at a time (ping)",
        metrics={
            "throughput_per_second": throughput["per_second"],
            "p50_ms_under_load": throughput["p50_ms_under_load"],
            "p99_ms_under_load": throughput["p99_ms_under_load"],
            "ping_p50_ms": ping["p50_ms"],
            "ping_p99_ms": ping["p99_ms"],
        },
        details=document,
    )


async def _guarded(
    name: str,
    description: str,
    limits: tuple[Limit, ...],
    benchmark: Awaitable[Measurement],
) -> Measurement:
    """The benchmark's result, or a failed result naming what went wrong: one failing
    benchmark does not cost the others their numbers."""
    try:
        return await benchmark
    except FAILURES as error:
        return failed(name, description, f"{type(error).__name__}: {error}", limits)


async def run_privacy(
    config: PrivacyConfig,
    *,
    admin_dsn: str,
    bootstrap: str,
    progress: Callable[[str], None],
    only: Collection[str] = BENCHMARKS,
) -> tuple[list[Measurement], dict[str, Any]]:
    """Run the benchmarks named in ``only``; their results and facts about the run."""
    measurements: list[Measurement] = []
    if "kafka_roundtrip" in only:
        rt = config.roundtrip
        progress(f"kafka_roundtrip: {rt.messages} messages and {rt.pings} pings x {rt.repeats}")
        async with scratch_topics(bootstrap, ["bench.roundtrip-"], partitions=rt.partitions) as (
            topic,
        ):
            measurements.append(roundtrip_measurement(await bench_roundtrip(bootstrap, topic, rt)))
    if not {erasure_bench.NAME, contract_end_bench.NAME} & set(only):
        return measurements, {}

    workdir = WORK_ROOT / uuid.uuid4().hex[:10]
    progress(f"starting the bench's own services (logs in {workdir})")
    erasure = (erasure_bench.NAME, erasure_bench.DESCRIPTION, erasure_bench.LIMITS)
    contract_end = (
        contract_end_bench.NAME,
        contract_end_bench.DESCRIPTION,
        contract_end_bench.limits_for(config.contract_end),
    )
    try:
        async with running_platform(
            admin_dsn=admin_dsn,
            kafka_bootstrap=bootstrap,
            workdir=workdir,
            extra_env=contract_end_env(config.contract_end),
        ) as platform:
            progress(f"services ready (topic prefix {platform.topic_prefix})")
            if erasure_bench.NAME in only:
                measurements.append(
                    await _guarded(
                        *erasure, bench_erasures(platform, config.erasure, progress=progress)
                    )
                )
            if contract_end_bench.NAME in only:
                measurements.append(
                    await _guarded(
                        *contract_end,
                        bench_contract_end(platform, config.contract_end, progress=progress),
                    )
                )
    except PlatformStartFailed as error:
        reason = f"the services did not start: {error}"
        measurements += [
            failed(name, description, reason, limits)
            for name, description, limits in (erasure, contract_end)
            if name in only
        ]
    if not any(m.failed for m in measurements):
        shutil.rmtree(workdir, ignore_errors=True)
        return measurements, {}
    # A failed run keeps the services' logs for whoever looks into it.
    progress(f"the services' logs are kept in {workdir}")
    return measurements, {"logs_kept_in": str(workdir)}
