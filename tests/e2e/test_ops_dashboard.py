"""The ops dashboard in a real browser (issue 6): headless system Chromium (Playwright, no
browser download) opens reporting's /ops/dashboard on the session's platform, connects with a
platform-staff token, and while it polls, requests appear (a real erasure through the
orchestrator, plus an overdue and an at-risk open request published on the session's
privacy.requests.v1 the way the orchestrator publishes them). The page must come to show the
same figures the ops API reports (tiles, table and chart of requests by state, open requests
with overdue/at-risk highlighted, reply and confirmation times, consumer lag, dead letters),
without a script error or CSP violation. Screenshots: the test's tmp_path and .run/artifacts/."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from byggrygg_shared.contracts.privacy import RequestStateChanged
from byggrygg_shared.envelope import EventMetadata, kafka_record
from byggrygg_shared.eventstore import metadata_document

from ..platform_processes import ROOT
from .privacy_story import PrivacyStory, eventually

# Never let Playwright fetch a browser: the test drives Debian's Chromium.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

from playwright.async_api import Browser, Page, async_playwright

ARTIFACTS = ROOT / ".run" / "artifacts"

# What the page shows, read from its DOM and its charts (values as the page holds them).
READ_PAGE = """() => {
  const rows = (id) => [...document.querySelectorAll(`#${id} tbody tr`)];
  const values = (tr) => [...tr.querySelectorAll("td")].map(
    (td) => td.dataset.value === undefined ? td.textContent : Number(td.dataset.value));
  const chart = (id) => {
    const found = window.Chart && window.Chart.getChart(id);
    return found ? { labels: found.data.labels, data: found.data.datasets.map((d) => d.data) }
                 : null;
  };
  const tile = (id) => document.getElementById(id).textContent;
  return {
    tiles: { open: tile("open"), overdue: tile("overdue"), at_risk: tile("at-risk"),
             escalated: tile("escalated") },
    by_state: Object.fromEntries(rows("by-state").map((tr) => [tr.dataset.state, values(tr)[1]])),
    by_state_chart: chart("by-state-chart"),
    open_requests: rows("open-requests").map((tr) => {
      const v = values(tr);
      return [tr.dataset.requestId, v[1], v[2], v[3], tr.className];
    }),
    reply_times: Object.fromEntries(
      rows("reply-times").map((tr) => [tr.dataset.participant, values(tr).slice(1)])),
    reply_times_chart: chart("reply-times-chart"),
    confirmation_times: Object.fromEntries(
      rows("confirmation-times").map((tr) => [tr.dataset.subProcessor, values(tr).slice(1)])),
    groups: Object.fromEntries(rows("consumer-lag").map((tr) => [tr.dataset.group, values(tr)[1]])),
    dead_letters: Object.fromEntries(
      rows("dead-letters").map((tr) => [tr.dataset.topic, values(tr)[1]])),
  };
}"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("no system Chromium: `apt-get install -y chromium` (deploy/local/install.sh)")
    return found


@pytest_asyncio.fixture(loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium(), headless=True)
        try:
            yield launched
        finally:
            await launched.close()


def expected_from(summary: dict[str, Any], kafka: dict[str, Any]) -> dict[str, Any]:
    """The figures the page must show for these API answers, in the shape READ_PAGE reads."""
    states = sorted(summary["by_state"])
    reply_times = summary["reply_times"]
    stats = ("p50", "p95", "max")
    return {
        "tiles": {key: str(summary[key]) for key in ("open", "overdue", "at_risk", "escalated")},
        "by_state": summary["by_state"],
        "by_state_chart": {"labels": states, "data": [[summary["by_state"][s] for s in states]]},
        "open_requests": [
            [
                r["request_id"],
                r["kind"],
                r["state"],
                r["deadline"],
                "overdue" if r["overdue"] else "at-risk" if r["at_risk"] else "",
            ]
            for r in summary["open_requests"]
        ],
        "reply_times": {
            t["participant"]: [t["replies"], *(t[f"{stat}_seconds"] for stat in stats)]
            for t in reply_times
        },
        "reply_times_chart": {
            "labels": [t["participant"] for t in reply_times],
            "data": [[t[f"{stat}_seconds"] for t in reply_times] for stat in stats],
        },
        "confirmation_times": {
            t["sub_processor"]: [t["confirmations"], *(t[f"{stat}_seconds"] for stat in stats)]
            for t in summary.get("confirmation_times", [])
        },
        "groups": {g["group"]: g["lag"] for g in kafka["groups"]},
        "dead_letters": {d["topic"]: d["messages"] for d in kafka["dead_letters"]},
    }


async def publish_open_request(
    producer: AIOKafkaProducer, topic: str, *, deadline_in_days: int, escalated: bool
) -> str:
    """An in-progress request as the orchestrator would publish it (nothing personal)."""
    now = datetime.now(UTC)
    request_id = uuid.uuid4()
    event = RequestStateChanged(
        request_id=request_id,
        kind="erasure",
        state="in_progress",
        change="in_progress",
        organisation_id=None,
        requested_by_role="data_subject",
        trigger=None,
        received_at=now - timedelta(days=30),
        deadline=(now + timedelta(days=deadline_in_days)).date(),
        deadline_extended=False,
        overdue=deadline_in_days < 0,
        on_hold=False,
        escalated=escalated,
        participants_answered=1,
        participants_expected=4,
        sub_processors_confirmed=0,
        sub_processors_expected=1,
        changed_at=now,
        completed_at=None,
    )
    record = kafka_record(
        topic=topic,
        stream_id=f"privacy-request-{request_id}",
        ce_type=event.ce_type(),
        payload=event.model_dump(mode="json"),
        metadata=metadata_document(event, EventMetadata.new(clock=lambda: now)),
        source_service="privacy-orchestrator",
    )
    await producer.send_and_wait(
        record.topic, value=record.value, key=record.key, headers=record.headers
    )
    return str(request_id)


async def api(http: httpx.AsyncClient, path: str, staff: dict[str, str]) -> dict[str, Any]:
    response = await http.get(path, headers=staff)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def erasure_state(database_url: str, request_id: str) -> str | None:
    """The state reporting's ops read model holds for the request (None: not seen yet)."""
    conn = await asyncpg.connect(database_url)
    try:
        state = await conn.fetchval(
            "SELECT state FROM ops_requests WHERE request_id = $1::uuid", request_id
        )
    finally:
        await conn.close()
    return None if state is None else str(state)


async def screenshot(page: Page, tmp_path: Path, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for folder in (tmp_path, ARTIFACTS):
        await page.screenshot(path=str(folder / name), full_page=True)


@pytest.mark.slow
async def test_the_dashboard_shows_what_the_ops_api_reports(
    privacy_story: PrivacyStory, browser: Browser, kafka_bootstrap: str, tmp_path: Path
) -> None:
    platform = privacy_story.platform
    staff = privacy_story.staff
    reporting_url = platform.url("reporting")
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    async with httpx.AsyncClient(base_url=reporting_url, timeout=60.0) as reporting:
        # The page loads without a token and shows nothing until staff connect.
        await page.goto(f"{reporting_url}/ops/dashboard?refresh=1")
        assert await page.locator("#dashboard").is_hidden()
        await page.fill("#token", privacy_story.identity.staff_token)
        await page.click("#token-form button")
        await page.locator("#status", has_text="Updated").wait_for(timeout=60_000)
        before = await api(reporting, "/ops/requests/summary", staff)

        # While the page polls: a real erasure, and two open requests near their deadline.
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            topic = platform.topic("privacy.requests.v1")
            overdue_id = await publish_open_request(
                producer, topic, deadline_in_days=-3, escalated=True
            )
            at_risk_id = await publish_open_request(
                producer, topic, deadline_in_days=2, escalated=False
            )
        finally:
            await producer.stop()
        person = await privacy_story.learner_with_data()
        filed = await privacy_story.file("erasure", person.subject_ref)
        erasure_id = str(filed["request_id"])
        assert (await privacy_story.ended(erasure_id))["state"] == "completed"

        async def seen_by_reporting() -> dict[str, Any] | None:
            # Other requests may come and go (automatic ones of earlier stories): wait for ours.
            summary = await api(reporting, "/ops/requests/summary", staff)
            listed = {r["request_id"]: r for r in summary["open_requests"]}
            settled = (
                await erasure_state(platform["reporting"].database_url, erasure_id) == "completed"
                and summary["by_state"].get("completed", 0) > before["by_state"].get("completed", 0)
                and summary["reply_times"]
            )
            return summary if settled and {overdue_id, at_risk_id} <= set(listed) else None

        summary = await eventually(seen_by_reporting, what="reporting's ops API sees the requests")
        listed = {r["request_id"]: r for r in summary["open_requests"]}
        assert listed[overdue_id]["overdue"]
        assert listed[overdue_id]["escalated"]
        assert listed[at_risk_id]["at_risk"]
        assert not listed[at_risk_id]["overdue"]

        # The page, refreshing on its own, comes to show exactly what the API says.
        last: dict[str, Any] = {}

        async def page_matches_api() -> bool | None:
            shown = await page.evaluate(READ_PAGE)
            expected = expected_from(
                await api(reporting, "/ops/requests/summary", staff),
                await api(reporting, "/ops/kafka", staff),
            )
            last.update(shown=shown, expected=expected)
            return True if shown == expected else None

        try:
            await eventually(page_matches_api, what="the dashboard shows the API's figures")
        finally:
            await screenshot(page, tmp_path, "ops-dashboard.png")
        shown = last["shown"]
        assert int(shown["tiles"]["overdue"]) >= 1
        assert int(shown["tiles"]["at_risk"]) >= 1
        assert shown["by_state"].get("completed", 0) >= 1
        rows = {row[0]: row for row in shown["open_requests"]}
        assert rows[overdue_id][4] == "overdue"
        assert rows[at_risk_id][4] == "at-risk"
        assert "reporting" in shown["reply_times"]
        assert shown["groups"], "the page lists the consumer groups"
        assert problems == [], problems

        # A token that is not staff's is refused, and the page says so instead of polling.
        await page.fill("#token", "not-a-token")
        await page.click("#token-form button")
        await page.locator("#status.error", has_text="Requests:").wait_for(timeout=30_000)
        assert await page.locator("#dashboard").is_hidden()
        await screenshot(page, tmp_path, "ops-dashboard-refused.png")
