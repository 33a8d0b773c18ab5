"""Timing results: one timed run, and a subject compared with its baseline and target.

Every benchmark repeats a measurement and reports the median run, so one noisy run (a
checkpoint, a JIT in the broker, the other core busy) does not decide the result.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Injectable so a test of the bench could drive it with a fake clock.
Clock = Callable[[], float]
DEFAULT_CLOCK: Clock = time.perf_counter


class BenchMismatch(RuntimeError):
    """The subject and the baseline did not do the same work; the numbers would be meaningless."""


@dataclass(frozen=True)
class Run:
    """One timed run: ``items`` (events or messages) done in ``seconds``.

    ``latencies`` holds one duration per unit of work (a transaction) when the run has them.
    """

    items: int
    seconds: float
    latencies: Sequence[float] = field(default=(), repr=False)

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0

    def latency_ms(self, quantile: float) -> float | None:
        """The ``quantile`` (0..1) of the per-unit latencies in milliseconds, if recorded."""
        if not self.latencies:
            return None
        return percentile(self.latencies, quantile) * 1000.0


def percentile(samples: Sequence[float], quantile: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least ``quantile`` of them <= it."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = min(len(ordered), max(1, math.ceil(quantile * len(ordered))))
    return ordered[rank - 1]


def median_run(runs: Sequence[Run]) -> Run:
    """The run with the median throughput (the lower middle one for an even count)."""
    if not runs:
        raise ValueError("no runs")
    ordered = sorted(runs, key=lambda run: run.per_second)
    return ordered[(len(ordered) - 1) // 2]


@dataclass(frozen=True)
class Comparison:
    """A subject (shared-library path) against its raw baseline, with the ratio target."""

    name: str
    unit: str
    subject_label: str
    baseline_label: str
    subject_runs: Sequence[Run]
    baseline_runs: Sequence[Run]
    target_ratio: float
    # Further baselines that explain the gap (not judged against the target).
    references: Mapping[str, Sequence[Run]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> Run:
        return median_run(self.subject_runs)

    @property
    def baseline(self) -> Run:
        return median_run(self.baseline_runs)

    @property
    def ratio(self) -> float:
        baseline = self.baseline.per_second
        return self.subject.per_second / baseline if baseline > 0 else 0.0

    @property
    def met(self) -> bool:
        return self.ratio >= self.target_ratio

    def ratio_to(self, runs: Sequence[Run]) -> float:
        """The subject's median throughput as a fraction of the median of ``runs``."""
        other = median_run(runs).per_second
        return self.subject.per_second / other if other > 0 else 0.0


def spread(runs: Sequence[Run]) -> dict[str, float]:
    """Min, median and max throughput of ``runs``: how noisy the repeats were."""
    rates = [run.per_second for run in runs]
    return {"min": min(rates), "median": statistics.median(rates), "max": max(rates)}
