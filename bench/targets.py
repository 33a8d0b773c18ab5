"""Absolute results (a latency, a duration) against upper-bound targets, and results that could
not be measured yet, with the reason instead of a number.

The foundation benchmarks compare a subject with its raw baseline (``stats.Comparison``); the
privacy benchmarks state what the platform does end to end ("p99 below one second"), so their
target is a limit on one of their metrics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Limit", "Measurement", "failed", "not_measurable"]


@dataclass(frozen=True)
class Limit:
    """The target ``metrics[metric] < below`` (in the metric's own unit)."""

    metric: str
    below: float

    def describe(self) -> str:
        return f"{self.metric} < {self.below:g}"


@dataclass(frozen=True)
class Measurement:
    """One benchmark's metrics and targets; ``unmeasured`` says why there are no metrics
    (the feature is not there yet, or the run failed: ``failed``)."""

    name: str
    description: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    limits: Sequence[Limit] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    unmeasured: str | None = None
    failed: bool = False

    @property
    def status(self) -> str:
        if self.unmeasured is None:
            return "measured"
        return "failed" if self.failed else "not_measurable"

    def missed(self) -> list[Limit]:
        """The limits the metrics do not keep (none when nothing was measured)."""
        if self.unmeasured is not None:
            return []
        return [limit for limit in self.limits if not self.metrics[limit.metric] < limit.below]

    @property
    def met(self) -> bool | None:
        """True or False against the targets; None without targets or without numbers."""
        if self.unmeasured is not None or not self.limits:
            return None
        return not self.missed()

    def document(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "status": self.status,
            "reason": self.unmeasured,
            "metrics": {key: round(value, 3) for key, value in self.metrics.items()},
            "targets": [limit.describe() for limit in self.limits],
            "met": self.met,
            "missed": [limit.describe() for limit in self.missed()],
            "details": dict(self.details),
        }


def not_measurable(
    name: str, description: str, reason: str, limits: Sequence[Limit] = ()
) -> Measurement:
    """A result without numbers: the message says "not measurable yet: <reason>"."""
    return Measurement(
        name=name,
        description=description,
        limits=limits,
        unmeasured=f"not measurable yet: {reason}",
    )


def failed(name: str, description: str, reason: str, limits: Sequence[Limit] = ()) -> Measurement:
    """A result whose run failed (a service refused, a record did not verify, a deadline)."""
    return Measurement(
        name=name,
        description=description,
        limits=limits,
        unmeasured=f"failed: {reason}",
        failed=True,
    )
