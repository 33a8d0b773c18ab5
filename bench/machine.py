"""Facts about the machine and the components a bench ran on, recorded with every result.

A number is only comparable with another taken on the same cores, the same PostgreSQL
durability settings, the same Kafka and the same commit, so those are written next to it.
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg

__all__ = ["REPO_ROOT", "busy_warning", "load_average", "machine_facts"]

REPO_ROOT = Path(__file__).resolve().parent.parent
# The local broker's jars (deploy/local/kafka.sh puts them here); their names carry the version.
KAFKA_LIB = REPO_ROOT / ".run" / "kafka" / "lib"
PG_SETTINGS = (
    "server_version",
    "fsync",
    "synchronous_commit",
    "wal_sync_method",
    "shared_buffers",
    "max_wal_size",
)
PACKAGES = ("asyncpg", "aiokafka", "cloudevents", "pydantic", "sqlalchemy")


async def machine_facts(admin_dsn: str) -> dict[str, Any]:
    """Cores, memory, Python and package versions, PostgreSQL and Kafka versions, git commit."""
    return {
        "cpu_cores": os.cpu_count(),
        "load_average_at_start": load_average(),
        "cpu_model": _proc_field("/proc/cpuinfo", "model name"),
        "memory_total": _proc_field("/proc/meminfo", "MemTotal"),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": {name: _package_version(name) for name in PACKAGES},
        "postgresql": await _postgres_settings(admin_dsn),
        "kafka": {"version": _kafka_version()},
        "git": _git(),
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages: how busy the machine was around the run."""
    return [round(value, 2) for value in os.getloadavg()]


def busy_warning(load: list[float]) -> str | None:
    """A warning when other work competed for the cores: the ratios are then less reliable."""
    cores = os.cpu_count() or 1
    if load[0] <= 0.5 * cores:
        return None
    return (
        f"the machine was busy (1-minute load {load[0]} on {cores} cores): other processes "
        "competed with the bench, so throughput is lower and ratios noisier than on a quiet "
        "machine"
    )


def _proc_field(path: str, name: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                key, _, value = line.partition(":")
                if key.strip() == name:
                    return value.strip()
    except OSError:
        return None
    return None


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


async def _postgres_settings(admin_dsn: str) -> dict[str, str]:
    conn = await asyncpg.connect(admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1::text[])",
            list(PG_SETTINGS),
        )
    finally:
        await conn.close()
    return {
        row["name"]: row["setting"] + (f" ({row['unit']})" if row["unit"] else "") for row in rows
    }


def _kafka_version() -> str | None:
    jars = sorted(KAFKA_LIB.glob("kafka-server-[0-9]*.jar"))
    if not jars:
        return None
    return jars[-1].stem.removeprefix("kafka-server-")


def _git() -> dict[str, Any]:
    def run(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return None
        return done.stdout.strip()

    changed = run("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": run("rev-parse", "HEAD"),
        "uncommitted_changes": bool(changed) if changed is not None else None,
    }
