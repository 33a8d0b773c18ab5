"""Where the CPU went during a benchmark: per service process group, and the whole machine.

Linux only (``/proc``): each service of the bench's platform runs as the leader of a process
group of its own (``live_platform``), so the CPU seconds (user + system) of every process in
that group are the service's. PostgreSQL and Kafka serve every service at once and are not
split; the machine's busy share (``/proc/stat``) shows whether the cores were saturated, and
with what (other processes compete when the machine is shared).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PROC: Final = Path("/proc")


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds per named process group, and the machine's busy and total seconds."""

    by_group: Mapping[str, float]
    machine_busy: float
    machine_total: float


def _ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def _group_seconds(groups: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds of the live processes in each process group (``name -> pgid``)."""
    wanted = {pgid: name for name, pgid in groups.items()}
    seconds = dict.fromkeys(groups, 0.0)
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # the process ended while we looked
        # Fields after the command name (which may hold spaces), see proc(5).
        fields = stat.rsplit(")", 1)[1].split()
        name = wanted.get(int(fields[2]))  # pgrp
        if name is not None:
            seconds[name] += (int(fields[11]) + int(fields[12])) / _ticks()  # utime + stime
    return seconds


def _machine_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of all cores since boot."""
    values = [int(v) for v in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time (already counted in user)
    return (total - idle) / _ticks(), total / _ticks()


def snapshot(groups: Mapping[str, int]) -> CpuSnapshot:
    busy, total = _machine_seconds()
    return CpuSnapshot(_group_seconds(groups), busy, total)


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds each group used between two snapshots, and the machine's busy share."""

    by_service: dict[str, float]
    machine_busy_share: float | None

    def per_item_ms(self, items: int) -> dict[str, float]:
        """Milliseconds of CPU per item (e.g. per completed erasure), by service."""
        return {
            name: round(1000 * used / max(items, 1), 1) for name, used in self.by_service.items()
        }


def cpu_between(before: CpuSnapshot, after: CpuSnapshot) -> CpuUse:
    total = after.machine_total - before.machine_total
    return CpuUse(
        by_service={
            name: round(after.by_group.get(name, 0.0) - used, 2)
            for name, used in before.by_group.items()
        },
        machine_busy_share=round((after.machine_busy - before.machine_busy) / total, 3)
        if total > 0
        else None,
    )
