"""The Grafana dashboard's queries, evaluated by a real Prometheus (deploy/grafana).

Grafana itself is not installable here (not in Debian's archive), so what a panel would show
is checked one step before it: Debian's Prometheus (tests/prometheus_process.py) scrapes this
session's services with deploy/grafana/prometheus.yml's jobs, and EVERY PromQL expression of
every panel of byggrygg.json is run through Prometheus' HTTP API. Each must parse and, once
the platform has done what the panel is about, return a vector of at least one series: an
empty answer is a panel that shows "No data" when it should not (a label value the exporter
never writes, a sum of two sides one of which has no series yet...).

What moves the metrics first: a completed erasure (durations, sub-processor attempts and
confirmations, events, replies' lag), a forged sub-processor callback (a webhook rejection),
an erasure whose sub-processor delivery keeps failing (an escalation), and a record without
CloudEvents headers on a topic reporting reads (a dead letter). `promtool check config`
accepts deploy/grafana/prometheus.yml and the session's copy of it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from ..platform_processes import Platform
from ..prometheus_process import (
    SCRAPE_CONFIG,
    PrometheusApi,
    promtool_check,
    running_prometheus,
    session_scrape_config,
)
from .privacy_story import PrivacyStory, eventually

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "byggrygg.json"
# Long enough for an escalation (8 attempts, back-off up to 2 s in the harness) and scrapes.
ALL_QUERIES_S = 120.0


def panel_queries(panels: list[dict[str, Any]] | None = None) -> Iterator[tuple[str, str]]:
    """(panel title and query refId, PromQL) of every query of every panel, rows included."""
    if panels is None:
        panels = json.loads(DASHBOARD.read_text())["panels"]
    for panel in panels:
        for target in panel.get("targets", []):
            yield f"{panel['title']} [{target.get('refId', '?')}]", str(target["expr"])
        yield from panel_queries(panel.get("panels", []))


def series_count(answer: dict[str, Any]) -> int:
    """How many series an instant query returned (0 for anything but a vector)."""
    data = answer.get("data") or {}
    return len(data.get("result", [])) if data.get("resultType") == "vector" else 0


def test_promtool_accepts_the_scrape_config() -> None:
    assert "SUCCESS" in promtool_check(SCRAPE_CONFIG)


async def all_targets_up(prometheus: PrometheusApi, jobs: set[str]) -> bool | None:
    targets = await prometheus.targets()
    up = {t["labels"]["job"] for t in targets if t["health"] == "up"}
    return True if up >= jobs else None


async def forge_a_callback(privacy_story: PrivacyStory) -> None:
    """A callback whose signature is not HeiHallo's: refused (401) and counted as a rejection."""
    listed = await privacy_story.orchestrator.get("/subprocessors", headers=privacy_story.staff)
    assert listed.status_code == 200, listed.text
    subprocessor_id = listed.json()[0]["id"]
    response = await privacy_story.orchestrator.post(
        f"/subprocessors/{subprocessor_id}/callbacks",
        content=b'{"type": "privacy.erase.completed"}',
        headers={
            "content-type": "application/json",
            "webhook-id": "msg_forged_by_the_prometheus_test",
            "webhook-timestamp": str(int(time.time())),
            "webhook-signature": "v1,Zm9yZ2VkIHNpZ25hdHVyZSBvZiB0aGUgdGVzdA==",
        },
    )
    assert response.status_code == 401, response.text


async def dead_letter(platform: Platform, kafka_bootstrap: str) -> None:
    """A record without CloudEvents headers on the session's courses.enrolment.v1: reporting's
    projector cannot decode it and dead-letters it at once (no retry can fix it)."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            platform.topic("courses.enrolment.v1"), value=b"not a cloud event", key=b"x"
        )
    finally:
        await producer.stop()


async def escalate(privacy_story: PrivacyStory) -> str:
    """An erasure whose HeiHallo delivery fails every attempt, so the orchestrator escalates;
    the subject's simulator mode is `fail` (only this subject's: other tests are unaffected)."""
    person = await privacy_story.learner_with_data()
    await privacy_story.platform.simulator.set_mode("fail", subject_ref=person.subject_ref)
    await privacy_story.file("erasure", person.subject_ref)
    return person.subject_ref


async def evaluate_all(prometheus: PrometheusApi) -> dict[str, dict[str, Any]]:
    """Every panel query's answer once all return series, or a failure naming those that
    do not (with Prometheus' error for those that do not parse)."""
    queries = list(panel_queries())
    assert queries, "the dashboard has no queries"
    for title, expr in queries:
        # Grafana would substitute a variable; Prometheus cannot. Only ${datasource} is used.
        assert "$" not in expr, f"{title}: a Grafana variable Prometheus cannot evaluate: {expr}"
    answers: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + ALL_QUERIES_S
    while True:
        for title, expr in queries:
            answers[title] = await prometheus.query(expr)
            # A query that does not parse never will: no waiting for it.
            assert answers[title]["status"] == "success", f"{title}: {expr}\n{answers[title]}"
        empty = {t: e for t, e in queries if series_count(answers[t]) == 0}
        if not empty:
            return answers
        if time.monotonic() > deadline:
            listing = "\n".join(f"- {t}: {e}" for t, e in empty.items())
            pytest.fail(f"panel queries without a series after {ALL_QUERIES_S}s:\n{listing}")
        await asyncio.sleep(1.0)


def labels_of(answer: dict[str, Any], label: str) -> set[str]:
    return {series["metric"].get(label, "") for series in answer["data"]["result"]}


@pytest.mark.slow
async def test_every_panel_query_returns_series_from_a_real_prometheus(
    platform: Platform, privacy_story: PrivacyStory, kafka_bootstrap: str, tmp_path: Path
) -> None:
    config_file = tmp_path / "prometheus.yml"
    config = session_scrape_config(platform, config_file)
    promtool_check(config_file)
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    escalated_subject = None
    async with running_prometheus(config_file, tmp_path) as prometheus:
        await eventually(
            lambda: all_targets_up(prometheus, jobs), what="Prometheus scrapes every service"
        )
        try:
            # The actions, after the first scrape, so rates and increases see them move.
            person = await privacy_story.learner_with_data()
            filed = await privacy_story.file("erasure", person.subject_ref)
            ended = await privacy_story.ended(filed["request_id"])
            assert ended["state"] in {"completed", "partially_completed"}, ended
            await forge_a_callback(privacy_story)
            await dead_letter(platform, kafka_bootstrap)
            escalated_subject = await escalate(privacy_story)

            answers = await evaluate_all(prometheus)
        finally:
            if escalated_subject is not None:
                await platform.simulator.set_mode("normal", subject_ref=escalated_subject)

    by_expr = {expr: answers[title] for title, expr in panel_queries()}
    completed = by_expr[
        "sum by (kind, outcome) (increase(byggrygg_privacy_request_duration_seconds_count[1d]))"
    ]
    assert "erasure" in labels_of(completed, "kind")
    rejections = by_expr["sum by (reason) (rate(byggrygg_webhook_rejections_total[5m]))"]
    assert "bad_signature" in labels_of(rejections, "reason")
    escalations = by_expr["sum by (reason) (increase(byggrygg_subprocessor_escalations_total[1h]))"]
    # HeiHallo answered 500 to every attempt: escalated when the attempts ran out.
    assert "attempts_exhausted" in labels_of(escalations, "reason")
    # Every erasure here took seconds: none took over a month (and the 30-day bucket exists).
    over_a_month = next(a for t, a in answers.items() if t.startswith("Requests that took"))
    assert [float(s["value"][1]) for s in over_a_month["data"]["result"]] == [0.0]
    dead = by_expr["sum by (topic) (increase(byggrygg_dlq_messages_total[1h]))"]
    assert platform.topic("courses.enrolment.v1") in labels_of(dead, "topic")
