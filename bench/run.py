"""Run the foundation benchmarks on the real local PostgreSQL and Kafka (``make bench``).

Measures, side by side in one run, the shared library against raw clients doing the same work:

1. ``EventStore.append`` vs a raw asyncpg insert of the same rows, one event per transaction
   and ten events per transaction (target: >= 60 % of raw);
2. ``OutboxRelay.publish_pending`` vs a raw aiokafka producer sending the same records
   (target: >= 50 % of raw).

Each measurement has a warm-up round and is repeated (median reported). Everything runs in a
scratch database and scratch topics that are removed afterwards. Results are written to
``$BYGGRYGG_BENCH_RESULTS_DIR/<name>.json`` (default ``bench/results``) and summarised on
stdout; progress goes to stderr.

The privacy suite (``privacy_suite``: a raw Kafka round trip, one erasure end to end, a
contract end for 10,000 users) runs the services themselves, on scratch state, and writes
``privacy.json``. ``--suite`` picks one suite (both run by default), ``--only`` one privacy
benchmark; a failed privacy benchmark (a service refused, a record did not verify) makes the
exit status 1.

The reporting suite (``reporting_stats``) seeds a scratch reporting database with 100,000
answers per question and times a contact person's statistics queries (``reporting.json``);
then (``projector_bench``) reporting's projector (its FastStream subscribers: consume, apply,
commit) against a raw aiokafka consumer reading the same courses events (target: >= 50 % of
raw; ``projector.json``).

Reads ``BYGGRYGG_PG_DSN`` (admin DSN) and ``BYGGRYGG_KAFKA_BOOTSTRAP``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contract_end_bench import ContractEndConfig
from erasure_bench import ErasureConfig
from eventstore_bench import AppendConfig, bench_appends
from kafka_roundtrip import RoundTripConfig
from machine import REPO_ROOT, busy_warning, load_average, machine_facts
from privacy_suite import BENCHMARKS, PrivacyConfig, run_privacy
from projector_bench import ProjectorConfig, run_projector_suite
from relay_bench import RelayConfig, bench_relay
from report import (
    breakdown_table,
    document,
    measurements_document,
    measurements_table,
    summary_table,
    write_document,
)
from reporting_stats import ReportingStatsConfig, run_reporting_suite
from scratch import create_event_tables, scratch_database, scratch_topics
from stats import Comparison

LOCAL_PG_DSN = "postgresql://byggrygg@127.0.0.1:54329/postgres"
LOCAL_KAFKA_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_RESULTS_DIR = REPO_ROOT / "bench" / "results"
# Like the platform's event topics (deploy/topics.toml), so keys spread the same way.
TOPIC_PARTITIONS = 3
SUITES = ("foundation", "privacy", "reporting")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--suite", choices=("all", *SUITES), default="all", help="which suite(s) to run"
    )
    parser.add_argument("--name", default="foundation", help="foundation result file name")
    parser.add_argument("--privacy-name", default="privacy", help="privacy result file name")
    parser.add_argument("--appends", type=int, default=2000, help="transactions per append run")
    parser.add_argument("--batch", type=int, default=10, help="events per transaction, batched")
    parser.add_argument("--messages", type=int, default=20000, help="messages per relay run")
    parser.add_argument(
        "--roundtrip-messages", type=int, default=20000, help="messages per Kafka round-trip run"
    )
    parser.add_argument("--pings", type=int, default=200, help="one-at-a-time Kafka round trips")
    parser.add_argument("--erasures", type=int, default=50, help="timed erasures per run")
    parser.add_argument(
        "--contract-users",
        type=int,
        default=10000,
        help="users of the organisation whose contract ends",
    )
    parser.add_argument(
        "--contract-seed",
        choices=("events", "api"),
        default="events",
        help="how the contract-end users are made: LicenceGranted records on the scratch user "
        "topic (fast), or identity's API (real users; argon2id makes it about 1-5 users/s here)",
    )
    parser.add_argument(
        "--contract-timeout",
        type=float,
        default=2400.0,
        help="seconds the contract end may take; then what completed by then is the result",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS,
        help="run only this privacy benchmark (repeatable; implies --suite privacy)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement")
    # bench/reporting_stats.py
    parser.add_argument(
        "--reporting-answers",
        type=int,
        default=ReportingStatsConfig.answers,
        help="answers per question of the reporting suite's statistics queries",
    )
    # bench/projector_bench.py
    parser.add_argument(
        "--projector-enrolments",
        type=int,
        default=ProjectorConfig.enrolments,
        help="enrolments (four courses events each) of the reporting suite's projector run",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a tenth of the work (a hundredth of the contract end's users), one repeat: a "
        "smoke test",
    )
    parser.add_argument(
        "--fail-on-miss", action="store_true", help="exit 1 when a target is missed"
    )
    args = parser.parse_args(argv)
    if args.only:
        args.suite = "privacy"
    if args.quick:
        args.appends, args.messages, args.repeats = args.appends // 10, args.messages // 10, 1
        args.roundtrip_messages //= 10
        args.pings //= 10
        args.erasures = max(1, args.erasures // 5)
        args.contract_users = max(1, args.contract_users // 100)
        args.reporting_answers //= 10
        args.projector_enrolments = max(1, args.projector_enrolments // 10)
    return args


def append_configs(args: argparse.Namespace) -> list[AppendConfig]:
    shared: dict[str, Any] = {
        "transactions": args.appends,
        "repeats": args.repeats,
        "warmup_transactions": max(1, args.appends // 4),
        "breakdown_transactions": max(1, args.appends // 4),
    }
    return [
        AppendConfig(name="eventstore_append_1_per_tx", events_per_tx=1, **shared),
        AppendConfig(
            name=f"eventstore_append_{args.batch}_per_tx", events_per_tx=args.batch, **shared
        ),
    ]


def relay_config(args: argparse.Namespace) -> RelayConfig:
    return RelayConfig(
        messages=args.messages,
        repeats=args.repeats,
        warmup_messages=max(1, args.messages // 4),
        breakdown_messages=max(1, args.messages // 4),
        partitions=TOPIC_PARTITIONS,
    )


def privacy_config(args: argparse.Namespace) -> PrivacyConfig:
    return PrivacyConfig(
        roundtrip=RoundTripConfig(
            messages=args.roundtrip_messages,
            pings=args.pings,
            repeats=args.repeats,
            warmup_messages=max(1, args.roundtrip_messages // 4),
            warmup_pings=max(1, args.pings // 4),
            partitions=TOPIC_PARTITIONS,
        ),
        erasure=ErasureConfig(
            erasures=args.erasures, repeats=args.repeats, warmup=max(2, args.erasures // 10)
        ),
        contract_end=ContractEndConfig(
            users=args.contract_users, seed_with=args.contract_seed, timeout_s=args.contract_timeout
        ),
    )


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


async def run_foundation(
    args: argparse.Namespace, admin_dsn: str, bootstrap: str, results_dir: Path
) -> list[str]:
    """The foundation suite; the names of the comparisons that missed their target."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    machine = await machine_facts(admin_dsn)
    appends = append_configs(args)
    relay = relay_config(args)

    comparisons: list[Comparison] = []
    async with scratch_database(admin_dsn) as dsn:
        await create_event_tables(dsn, with_raw=True)
        for config in appends:
            progress(f"{config.name}: {config.transactions} transactions x {config.repeats}")
            comparisons.append(await bench_appends(dsn, config))
    progress(f"outbox_relay_publish: {relay.messages} messages x {relay.repeats}")
    async with (
        scratch_database(admin_dsn) as dsn,
        scratch_topics(bootstrap, ["bench.relay-", "bench.raw-"], partitions=relay.partitions) as (
            relay_topic,
            raw_topic,
        ),
    ):
        await create_event_tables(dsn, with_raw=False)
        comparisons.append(
            await bench_relay(
                dsn, bootstrap, relay_topic=relay_topic, raw_topic=raw_topic, config=relay
            )
        )

    load_at_end = load_average()
    # Only the load before the run says something about others: ours is in the later one.
    warning = busy_warning(machine["load_average_at_start"])
    doc = document(
        name=args.name,
        comparisons=comparisons,
        machine={**machine, "load_average_at_end": load_at_end},
        config={
            "append": [asdict(config) for config in appends],
            "relay": asdict(relay),
        },
        started_at=started_at.isoformat(),
        duration_s=time.perf_counter() - started,
        warnings=[warning] if warning else [],
    )
    path = write_document(doc, results_dir, args.name)
    print(summary_table(comparisons))
    for comparison in comparisons:
        breakdown: dict[str, Any] = comparison.details.get("breakdown", {})
        for side, part in breakdown.items():
            if isinstance(part, dict):
                title = f"\n{comparison.name}, {side}, per {breakdown['per']}"
                print(breakdown_table(title, part))
    print(f"\nresults: {path} ({doc['duration_s']} s)")
    if warning:
        progress(f"warning: {warning}")
    return [c.name for c in comparisons if not c.met]


async def run_privacy_suite(
    args: argparse.Namespace, admin_dsn: str, bootstrap: str, results_dir: Path
) -> tuple[list[str], list[str]]:
    """The privacy suite; the names of the measurements that missed a target, and of those
    whose run failed."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    machine = await machine_facts(admin_dsn)
    config = privacy_config(args)
    measurements, facts = await run_privacy(
        config,
        admin_dsn=admin_dsn,
        bootstrap=bootstrap,
        progress=progress,
        only=args.only or BENCHMARKS,
    )
    warning = busy_warning(machine["load_average_at_start"])
    doc = measurements_document(
        name=args.privacy_name,
        measurements=measurements,
        machine={**machine, "load_average_at_end": load_average()},
        config={**asdict(config), **facts},
        started_at=started_at.isoformat(),
        duration_s=time.perf_counter() - started,
        warnings=[warning] if warning else [],
    )
    path = write_document(doc, results_dir, args.privacy_name)
    print(measurements_table(measurements))
    print(f"\nresults: {path} ({doc['duration_s']} s)")
    if warning:
        progress(f"warning: {warning}")
    for measurement in measurements:
        if measurement.unmeasured is not None:
            progress(f"{measurement.name}: {measurement.unmeasured}")
    missed = [m.name for m in measurements if m.met is False]
    return missed, [m.name for m in measurements if m.failed]


async def run(args: argparse.Namespace) -> int:
    admin_dsn = os.environ.get("BYGGRYGG_PG_DSN", LOCAL_PG_DSN)
    bootstrap = os.environ.get("BYGGRYGG_KAFKA_BOOTSTRAP", LOCAL_KAFKA_BOOTSTRAP)
    results_dir = Path(os.environ.get("BYGGRYGG_BENCH_RESULTS_DIR") or DEFAULT_RESULTS_DIR)
    missed: list[str] = []
    failures: list[str] = []
    if args.suite in ("all", "foundation"):
        missed += await run_foundation(args, admin_dsn, bootstrap, results_dir)
    if args.suite in ("all", "privacy"):
        if args.suite == "all":
            print()
        privacy_missed, failures = await run_privacy_suite(args, admin_dsn, bootstrap, results_dir)
        missed += privacy_missed
    # the contact person's statistics over 100,000 answers (no target), then the projector
    # against a raw consumer (>= 50 %).
    if args.suite in ("all", "reporting"):
        if args.suite == "all":
            print()
        await run_reporting_suite(
            ReportingStatsConfig(answers=args.reporting_answers),
            admin_dsn,
            results_dir,
            progress,
        )
        print()
        projector = await run_projector_suite(
            ProjectorConfig(enrolments=args.projector_enrolments, repeats=args.repeats),
            admin_dsn,
            bootstrap,
            results_dir,
            progress,
        )
        if not projector.met:
            missed.append(projector.name)
    if missed:
        progress(f"target missed: {', '.join(missed)}")
    if failures:
        # A benchmark that could not run fails the run, as a bench error does.
        progress(f"benchmark failed: {', '.join(failures)}")
        return 1
    return 1 if missed and args.fail_on_miss else 0


def main() -> None:
    sys.exit(asyncio.run(run(parse_args(sys.argv[1:]))))


if __name__ == "__main__":
    main()
