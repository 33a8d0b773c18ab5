"""The Grafana dashboard (deploy/grafana/byggrygg.json) charts metrics the services export.

On the real processes of this session:

- every metric name a panel's query names is exposed at ``/metrics`` by at least one service
  (a panel naming a metric nobody exports fails here, before anyone opens Grafana to an empty
  chart); every service exposes the platform's common metrics (HTTP, consumer lag, outbox,
  dead letters);
- deploy/grafana/prometheus.yml scrapes exactly the services of deploy/services.conf, on their
  ports (the dashboard groups by the scrape job);
- an erasure shows: the orchestrator observes the request's duration (kind ``erasure``) when it
  completes, and its batch consumer of the replies sets the consumer lag of this session's
  ``privacy.replies.v1`` (the per-message middleware never sees a batch's records).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from ..platform_processes import Platform
from .privacy_story import PrivacyStory, eventually

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "byggrygg.json"
PROMETHEUS = ROOT / "deploy" / "grafana" / "prometheus.yml"
SERVICES = ROOT / "deploy" / "services.conf"
METRIC_NAME = re.compile(r"\bbyggrygg_[a-z0-9_]+\b")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
COMMON = {
    "byggrygg_http_requests_total",
    "byggrygg_http_request_duration_seconds_bucket",
    "byggrygg_consumer_lag",
    "byggrygg_outbox_backlog",
    "byggrygg_dlq_messages_total",
}
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
}


def _targets(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield from panel.get("targets", [])
        yield from _targets(panel.get("panels", []))


def queried_metrics() -> set[str]:
    """Every ``byggrygg_*`` series name in the dashboard's queries."""
    dashboard = json.loads(DASHBOARD.read_text())
    names: set[str] = set()
    for target in _targets(dashboard["panels"]):
        names |= set(METRIC_NAME.findall(target["expr"]))
    return names


def exposed_names(exposition: str) -> set[str]:
    """The series names an exposition offers: its samples, and for a labelled metric that has
    no sample yet, the names its type will give (a counter ``x`` gives ``x_total``)."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            base = name.removesuffix("_total") if kind == "counter" else name
            names |= {name, *(base + suffix for suffix in _SUFFIXES.get(kind, ()))}
        elif (sample := SAMPLE.match(line)) is not None:
            names.add(sample.group(1))
    return names


def sample_values(exposition: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples of series `name`, with their labels."""
    found = []
    for line in exposition.splitlines():
        sample = SAMPLE.match(line)
        if sample is None or sample.group(1) != name:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', sample.group(2) or ""))
        found.append((labels, float(sample.group(3))))
    return found


async def scrape(base_url: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    return response.text


def test_the_dashboard_queries_only_byggrygg_metrics_with_a_datasource() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    targets = list(_targets(dashboard["panels"]))
    assert targets, "the dashboard has no queries"
    for target in targets:
        assert METRIC_NAME.search(target["expr"]), target
        assert target["datasource"]["uid"] == "${datasource}", target
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_prometheus_scrapes_every_service_on_its_port() -> None:
    declared = {}
    for line in SERVICES.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, port = line.split()
            declared[name] = f"127.0.0.1:{port}"
    config = PROMETHEUS.read_text()
    scraped = dict(
        re.findall(r"job_name:\s*(\S+)\s+static_configs:\s+- targets: \[\"([^\"]+)\"\]", config)
    )
    assert scraped == declared


async def test_every_metric_the_dashboard_queries_is_exported(platform: Platform) -> None:
    exported: dict[str, set[str]] = {}
    for name, service in platform.services.items():
        exported[name] = exposed_names(await scrape(service.base_url))
    for name, names in exported.items():
        assert names >= COMMON, f"{name} lacks {sorted(COMMON - names)}"
    anywhere = set().union(*exported.values())
    missing = queried_metrics() - anywhere
    assert not missing, f"the dashboard queries metrics no service exports: {sorted(missing)}"


def _erasures(exposition: str) -> float:
    return sum(
        value
        for labels, value in sample_values(
            exposition, "byggrygg_privacy_request_duration_seconds_count"
        )
        if labels.get("kind") == "erasure"
    )


async def test_an_erasure_is_timed_and_the_batch_consumer_reports_its_lag(
    platform: Platform, privacy_story: PrivacyStory
) -> None:
    orchestrator = platform.url("privacy-orchestrator")
    before = _erasures(await scrape(orchestrator))
    person = await privacy_story.learner_with_data()
    filed = await privacy_story.file("erasure", person.subject_ref)
    ended = await privacy_story.ended(filed["request_id"])
    assert ended["state"] in {"completed", "partially_completed"}, ended

    replies_topic = platform.topic("privacy.replies.v1")

    async def probe() -> str | None:
        exposition = await scrape(orchestrator)
        lags = [
            labels
            for labels, _ in sample_values(exposition, "byggrygg_consumer_lag")
            if labels.get("topic") == replies_topic
        ]
        return exposition if lags and _erasures(exposition) >= before + 1 else None

    exposition = await eventually(probe, what="the erasure's duration and the replies' lag")
    durations = [
        labels
        for labels, _ in sample_values(
            exposition, "byggrygg_privacy_request_duration_seconds_count"
        )
        if labels.get("kind") == "erasure"
    ]
    assert {labels["outcome"] for labels in durations} <= {"completed", "partially_completed"}
