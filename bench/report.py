"""Bench results as a JSON document (for machines and history) and as a short table (for people).

Two kinds: comparisons with a raw baseline (``stats.Comparison``, the foundation benchmarks)
and absolute measurements against limits (``targets.Measurement``, the privacy benchmarks).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stats import Comparison, Run, median_run, spread
from targets import Measurement

__all__ = [
    "SCHEMA_VERSION",
    "breakdown_table",
    "document",
    "measurements_document",
    "measurements_table",
    "summary_table",
    "write_document",
]

SCHEMA_VERSION = 1


def _side(label: str, median: Run, runs: Sequence[Run]) -> dict[str, Any]:
    return {
        "label": label,
        "per_second": round(median.per_second, 1),
        "p50_ms": _round(median.latency_ms(0.50)),
        "p99_ms": _round(median.latency_ms(0.99)),
        "runs_per_second": [round(run.per_second, 1) for run in runs],
        "spread_per_second": {key: round(value, 1) for key, value in spread(runs).items()},
        "items_per_run": median.items,
    }


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def comparison_document(comparison: Comparison) -> dict[str, Any]:
    """One comparison: medians, every repeat, latency percentiles, ratio against target."""
    return {
        "unit": comparison.unit,
        "subject": _side(comparison.subject_label, comparison.subject, comparison.subject_runs),
        "baseline": _side(comparison.baseline_label, comparison.baseline, comparison.baseline_runs),
        "ratio": round(comparison.ratio, 3),
        "target_ratio": comparison.target_ratio,
        "met": comparison.met,
        "references": [
            {
                **_side(label, median_run(runs), runs),
                "subject_ratio": round(comparison.ratio_to(runs), 3),
            }
            for label, runs in comparison.references.items()
        ],
        "details": comparison.details,
    }


def document(
    *,
    name: str,
    comparisons: Sequence[Comparison],
    machine: Mapping[str, Any],
    config: Mapping[str, Any],
    started_at: str,
    duration_s: float,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """The whole result file."""
    return {
        "benchmark": name,
        "schema_version": SCHEMA_VERSION,
        "started_at": started_at,
        "duration_s": round(duration_s, 1),
        "all_targets_met": all(c.met for c in comparisons),
        "warnings": list(warnings),
        "machine": dict(machine),
        "config": dict(config),
        "results": {c.name: comparison_document(c) for c in comparisons},
    }


def write_document(doc: Mapping[str, Any], directory: Path, name: str) -> Path:
    """Write ``<directory>/<name>.json`` (creating the directory) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return path


def _fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def summary_table(comparisons: Sequence[Comparison]) -> str:
    """Median throughput, latency and ratio of each comparison, one line each."""
    header = (
        f"{'benchmark':<30} {'shared lib /s':>13} {'raw /s':>10} {'ratio':>6} {'target':>7}"
        f"  {'p50/p99 ms lib':>15} {'p50/p99 ms raw':>15}  result"
    )
    lines = [header, "-" * len(header)]
    for c in comparisons:
        subject, baseline = c.subject, c.baseline
        lines.append(
            f"{c.name:<30} {subject.per_second:>13,.0f} {baseline.per_second:>10,.0f}"
            f" {c.ratio:>6.0%} {'>=' + format(c.target_ratio, '.0%'):>7}"
            f"  {_fmt_ms(subject.latency_ms(0.5)) + '/' + _fmt_ms(subject.latency_ms(0.99)):>15}"
            f" {_fmt_ms(baseline.latency_ms(0.5)) + '/' + _fmt_ms(baseline.latency_ms(0.99)):>15}"
            f"  {'met' if c.met else 'MISSED'}"
        )
        for label, runs in c.references.items():
            lines.append(
                f"  vs {label}: {median_run(runs).per_second:,.0f}/s, "
                f"shared lib = {c.ratio_to(runs):.0%} of it"
            )
    return "\n".join(lines)


def breakdown_table(title: str, breakdown: Mapping[str, Any]) -> str:
    """Where the time of one unit of work goes: microseconds per step, largest first."""
    total = breakdown.get("total_us")
    if total is None:
        return ""
    lines = [f"{title}: {total:,.0f} us"]
    steps: Mapping[str, Mapping[str, float]] = breakdown["steps"]
    for label, step in sorted(steps.items(), key=lambda item: -item[1]["us"]):
        calls = f"x{step['calls']:.3g}" if step["calls"] else ""
        lines.append(f"  {step['us']:>9,.1f} us  {label} {calls}".rstrip())
    return "\n".join(lines)


def measurements_document(
    *,
    name: str,
    measurements: Sequence[Measurement],
    machine: Mapping[str, Any],
    config: Mapping[str, Any],
    started_at: str,
    duration_s: float,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """The result file of absolute measurements (``targets.Measurement``).

    ``all_targets_met`` is true only when every target was measured and met, false when one
    was missed, null when none was missed but some could not be measured.
    """
    verdicts = [m.met for m in measurements if m.limits]
    all_met: bool | None = False if False in verdicts else (None if None in verdicts else True)
    return {
        "benchmark": name,
        "schema_version": SCHEMA_VERSION,
        "started_at": started_at,
        "duration_s": round(duration_s, 1),
        "all_targets_met": all_met,
        "not_measured": [m.name for m in measurements if m.unmeasured is not None],
        "warnings": list(warnings),
        "machine": dict(machine),
        "config": dict(config),
        "results": {m.name: m.document() for m in measurements},
    }


def measurements_table(measurements: Sequence[Measurement]) -> str:
    """Each measurement's metrics and its verdict against its targets, a few lines each."""
    lines: list[str] = []
    for m in measurements:
        if m.unmeasured is not None:
            targets = ", ".join(limit.describe() for limit in m.limits) or "no target"
            lines.append(f"{m.name}: {m.unmeasured} (targets: {targets})")
            continue
        verdict = {True: "met", False: "MISSED", None: "no target"}[m.met]
        lines.append(f"{m.name}: {verdict}")
        for key, value in m.metrics.items():
            limit = next((lim for lim in m.limits if lim.metric == key), None)
            mark = "" if limit is None else f"   (target < {limit.below:g})"
            lines.append(f"  {key:<36} {value:>12,.1f}{mark}")
        steps: Mapping[str, float] = m.details.get("steps_p50_ms", {})
        if steps:
            lines.append("  median ms after receipt, per step (the orchestrator's timestamps):")
            lines += [f"    {ms:>10,.1f}  {step}" for step, ms in steps.items()]
        milestones: Mapping[str, float | None] = m.details.get("milestones_s", {})
        if milestones:
            lines.append("  seconds after the start (the orchestrator's timestamps):")
            lines += [
                f"    {'-' if at is None else format(at, ',.1f'):>10}  {name}"
                for name, at in milestones.items()
            ]
    return "\n".join(lines)
