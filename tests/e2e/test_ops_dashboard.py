"""The ops dashboard in a real browser (issue 6): headless system Chromium (Playwright, no
browser download) opens reporting's /ops/dashboard on the session's platform, directly on
reporting's port (tests/e2e/test_ops_dashboard_gateway.py opens it behind the gateway), signs
in on its form with the session's platform-staff account (at the session's identity, the
configured BYGGRYGG_REPORTING_DASHBOARD_IDENTITY_URL, which lets reporting's origin in by
CORS), and while it polls, requests appear (a real erasure through the
orchestrator, plus an overdue and an at-risk open request published on the session's
privacy.requests.v1 the way the orchestrator publishes them). The page must come to show the
same figures the ops API reports (tiles, table and chart of requests by state, open requests
with overdue/at-risk highlighted, reply and confirmation times, consumer lag, dead letters),
without a script error or CSP violation. Screenshots: the test's tmp_path and .run/artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from playwright.async_api import Browser

from reporting.service_layer.ops import OPEN_LIST_LIMIT

from .ops_dashboard_page import (
    READ_PAGE,
    api,
    expected_from,
    is_signed_out,
    publish_open_request,
    screenshot,
    sign_in,
    status,
    watch,
)
from .privacy_story import PrivacyStory, eventually


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


@pytest.mark.slow
async def test_the_dashboard_shows_what_the_ops_api_reports(
    privacy_story: PrivacyStory, browser: Browser, kafka_bootstrap: str, tmp_path: Path
) -> None:
    platform = privacy_story.platform
    staff = privacy_story.staff
    reporting_url = platform.url("reporting")
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    problems = watch(page)

    async with httpx.AsyncClient(base_url=reporting_url, timeout=60.0) as reporting:
        # The page loads without a token and shows nothing until staff sign in; served
        # directly, its CSP lets it reach the configured identity and nothing else.
        loaded = await page.goto(f"{reporting_url}/ops/dashboard?refresh=1")
        assert loaded is not None
        csp = await loaded.header_value("content-security-policy")
        assert f"connect-src 'self' {platform.url('identity')};" in str(csp)
        assert await page.locator("#dashboard").is_hidden()
        await sign_in(page, platform.staff_email, platform.staff_password)
        await status(page, "updated")
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

        async def page_matches_api(*, listing_all: bool = True) -> bool | None:
            # listing_all: whether the summary must list every open request (or must not).
            summary = await api(reporting, "/ops/requests/summary", staff)
            if (summary["open_requests_next"] is None) != listing_all:
                return None
            shown = await page.evaluate(READ_PAGE)
            expected = expected_from(summary, await api(reporting, "/ops/kafka", staff))
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
        assert shown["open_requests_more"] is None  # every open request is listed

        # More open requests than the summary lists (far-off deadlines, listed last): the
        # page says how many it shows of how many, and where the rest are.
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
        await producer.start()
        try:
            for _ in range(OPEN_LIST_LIMIT + 1):
                await publish_open_request(producer, topic, deadline_in_days=400, escalated=False)
        finally:
            await producer.stop()

        async def page_says_there_are_more() -> bool | None:
            return await page_matches_api(listing_all=False)

        try:
            await eventually(page_says_there_are_more, what="the page says there are more")
        finally:
            await screenshot(page, tmp_path, "ops-dashboard-more.png")
        assert last["shown"]["open_requests_more"].startswith(
            f"Showing the {OPEN_LIST_LIMIT} earliest deadlines of "
        )
        assert problems == [], problems

        # Signing out drops the token and every figure; the page asks to sign in again.
        await page.click("#sign-out")
        await status(page, "signed-out")
        assert await is_signed_out(page)
        await screenshot(page, tmp_path, "ops-dashboard-signed-out.png")
        assert problems == [], problems
