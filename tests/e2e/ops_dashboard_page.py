"""The ops dashboard page as the browser tests drive it (tests/e2e/test_ops_dashboard*.py):
what the page shows (read from its DOM and its charts), what it must show for the ops API's
answers, signing in on its form, open requests published on the session's
privacy.requests.v1 the way the orchestrator publishes them, and screenshots (the test's
tmp_path and .run/artifacts/)."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from byggrygg_shared.contracts.privacy import RequestStateChanged
from byggrygg_shared.envelope import EventMetadata, kafka_record
from byggrygg_shared.eventstore import metadata_document

from ..platform_processes import ROOT

# Never let Playwright fetch a browser: the test drives Debian's Chromium.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

from playwright.async_api import ConsoleMessage, Page

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
    open_requests_more: document.getElementById("open-requests-more").hidden
      ? null : document.getElementById("open-requests-more").textContent,
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
        "open_requests_more": None
        if summary["open_requests_next"] is None
        else f"Showing the {len(summary['open_requests'])} earliest deadlines of "
        f"{summary['open']} open requests; the API pages through the rest "
        "(GET /ops/requests/open).",
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
    """The ops API's answer (200) to a platform-staff GET."""
    response = await http.get(path, headers=staff)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def screenshot(page: Page, tmp_path: Path, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for folder in (tmp_path, ARTIFACTS):
        await page.screenshot(path=str(folder / name), full_page=True)


def watch(page: Page) -> list[str]:
    """Script errors and CSP violations of `page`, as they happen. (A refused sign-in or poll
    also logs "Failed to load resource" as a console error: expected, not collected.)"""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        text = message.text
        refused_fetch = "Failed to load resource" in text
        if (message.type == "error" and not refused_fetch) or "Content Security Policy" in text:
            problems.append(text)

    page.on("console", on_console)
    return problems


async def status(page: Page, reason: str, timeout_ms: float = 60_000) -> str:
    """Wait until the page's status line is in state `reason` (its data-reason); its text."""
    line = page.locator(f'#status[data-reason="{reason}"]')
    await line.wait_for(timeout=timeout_ms)
    return await line.inner_text()


async def sign_in(page: Page, email: str, password: str) -> None:
    """Fill in and send the page's sign-in form."""
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("#sign-in button[type=submit]")


async def is_signed_out(page: Page) -> bool:
    """The form is back, the figures are hidden and emptied."""
    return (
        await page.locator("#sign-in").is_visible()
        and await page.locator("#dashboard").is_hidden()
        and await page.locator("#session").is_hidden()
        and await page.locator("#dashboard tbody tr").count() == 0
        and await page.locator("#password").input_value() == ""
    )
