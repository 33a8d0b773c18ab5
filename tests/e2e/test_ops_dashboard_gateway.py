"""The ops dashboard behind the nginx gateway, signed in on its form (issue 6).

Headless system Chromium opens `/api/reporting/ops/dashboard` through a gateway rendered from
deploy/nginx in front of this session's services (tests/gateway_process.py), so the page, its
sign-in (`/api/identity/auth/token`, the same origin: the CSP stays `connect-src 'self'`) and
the ops API all go through nginx, as in `make up`. Accounts are real ones made through
identity: a new platform-staff account (`identity create-staff`), and an organisation's
administrator (invited and accepted through identity's API).

- staff sign in, an overdue request appears while the page polls, and the page comes to show
  exactly the figures the ops API gives through the gateway; signing out empties the page;
- a wrong password shows identity's problem detail and nothing else; an administrator signs
  in (identity issues a token) but reporting refuses it (403): the page says the account is
  not staff's;
- a token that expires while the page polls (reporting answers 401) brings the sign-in back.

Screenshots: the test's tmp_path and .run/artifacts/ops-dashboard-gateway*.png.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from playwright.async_api import Browser, Page, Route

from byggrygg_shared.auth import Principal, Role, TokenIssuer, load_or_create_ed25519_key

from ..identity_client import IdentityApi, bearer
from ..platform_processes import CLI_TIMEOUT_S, Platform, run_service_cli
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
from .privacy_story import eventually

PAGE = "/api/reporting/ops/dashboard?refresh=1"
SIGN_IN = "**/api/identity/auth/token"
# reporting's verifier accepts a token up to 30 s after its exp (byggrygg_shared.auth).
VERIFIER_LEEWAY = timedelta(seconds=30)


@dataclass(frozen=True)
class Account:
    email: str
    password: str


@pytest_asyncio.fixture(loop_scope="session")
async def gateway(platform_gateway: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform_gateway, timeout=60.0) as client:
        yield client


async def new_staff(platform: Platform, workdir: Path) -> Account:
    """A platform-staff account made as operators make one: `identity create-staff`."""
    account = Account(f"ops-{uuid.uuid4().hex[:12]}@e2e.example.no", secrets.token_urlsafe(18))
    password_file = workdir / "ops-password"
    password_file.write_text(account.password + "\n", encoding="utf-8")
    password_file.chmod(0o600)
    await run_service_cli(
        "identity",
        ["create-staff", "--email", account.email, "--password-file", str(password_file)],
        platform.env,
        workdir / "identity-cli.log",
        CLI_TIMEOUT_S,
    )
    return account


async def token_of(gateway: httpx.AsyncClient, account: Account) -> str:
    response = await gateway.post(
        "/api/identity/auth/token", json={"email": account.email, "password": account.password}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def open_page(browser: Browser, base_url: str) -> tuple[Page, list[str]]:
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    problems = watch(page)
    loaded = await page.goto(base_url + PAGE)
    assert loaded is not None
    assert loaded.status == 200
    # Behind the gateway the page needs no origin but its own.
    csp = str(await loaded.header_value("content-security-policy"))
    assert "connect-src 'self';" in csp, csp
    assert "form-action 'none'" in csp
    assert await page.locator("#dashboard").is_hidden()
    await status(page, "signed-out")
    return page, problems


@pytest.mark.slow
async def test_staff_sign_in_through_the_gateway_and_see_the_api_figures(
    platform: Platform,
    platform_gateway: str,
    gateway: httpx.AsyncClient,
    browser: Browser,
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    staff = await new_staff(platform, tmp_path)
    headers = bearer(await token_of(gateway, staff))
    page, problems = await open_page(browser, platform_gateway)

    await sign_in(page, staff.email, staff.password)
    await status(page, "updated")
    assert await page.locator("#signed-in-as").inner_text() == staff.email
    assert await page.locator("#password").input_value() == ""

    # While the page polls, an overdue escalated request appears on the session's topic.
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        overdue_id = await publish_open_request(
            producer, platform.topic("privacy.requests.v1"), deadline_in_days=-2, escalated=True
        )
    finally:
        await producer.stop()

    last: dict[str, Any] = {}

    async def page_matches_api() -> bool | None:
        summary = await api(gateway, "/api/reporting/ops/requests/summary", headers)
        if overdue_id not in {r["request_id"] for r in summary["open_requests"]}:
            return None
        expected = expected_from(summary, await api(gateway, "/api/reporting/ops/kafka", headers))
        shown = await page.evaluate(READ_PAGE)
        last.update(shown=shown, expected=expected)
        return True if shown == expected else None

    try:
        await eventually(page_matches_api, what="the page behind the gateway shows the API's")
    finally:
        await screenshot(page, tmp_path, "ops-dashboard-gateway.png")
    rows = {row[0]: row for row in last["shown"]["open_requests"]}
    assert rows[overdue_id][4] == "overdue"
    assert int(last["shown"]["tiles"]["overdue"]) >= 1
    assert last["shown"]["groups"], "the page lists the consumer groups"

    await page.click("#sign-out")
    await status(page, "signed-out")
    assert await is_signed_out(page)
    assert problems == [], problems


@pytest.mark.slow
async def test_a_wrong_password_and_a_non_staff_account_are_refused_with_their_reason(
    platform: Platform,
    platform_gateway: str,
    platform_identity: IdentityApi,
    browser: Browser,
    tmp_path: Path,
) -> None:
    page, problems = await open_page(browser, platform_gateway)

    # identity's 401 problem: its detail is shown, the form stays, nothing is fetched.
    await sign_in(page, platform.staff_email, platform.staff_password + "-wrong")
    text = await status(page, "bad-credentials")
    assert "Invalid e-mail or password." in text
    assert await is_signed_out(page)
    assert await page.locator("#status.error").count() == 1
    await screenshot(page, tmp_path, "ops-dashboard-gateway-wrong-password.png")

    # A real administrator of a customer: identity signs them in, reporting answers 403.
    organisation = await platform_identity.register_organisation()
    admin = await platform_identity.add_admin(organisation["organisation_id"])
    await sign_in(page, admin.email, admin.password)
    text = await status(page, "forbidden")
    assert "not platform staff" in text
    assert await is_signed_out(page)
    await screenshot(page, tmp_path, "ops-dashboard-gateway-not-staff.png")
    assert problems == [], problems


def expiring_soon(platform: Platform, real_token: str, valid_for: timedelta) -> str:
    """The same caller's token, signed with the session's identity key, that reporting accepts
    for about `valid_for` more (its exp already lies in the verifier's leeway)."""
    claims = jwt.decode(real_token, options={"verify_signature": False})
    principal = Principal(
        user_id=claims["sub"],
        subject_ref=claims["subject_ref"],
        organisation_id=claims["org"],
        roles=frozenset(Role(role) for role in claims["roles"]),
    )
    ttl = timedelta(minutes=1)
    issued = datetime.now(UTC) - ttl - VERIFIER_LEEWAY + valid_for
    issuer = TokenIssuer(
        load_or_create_ed25519_key(platform.jwt_private_key_file),
        issuer=claims["iss"],
        audience=claims["aud"],
        ttl=ttl,
        clock=lambda: issued,
    )
    return issuer.issue(principal)


@pytest.mark.slow
async def test_an_expired_token_brings_the_sign_in_back(
    platform: Platform, platform_gateway: str, browser: Browser, tmp_path: Path
) -> None:
    page, problems = await open_page(browser, platform_gateway)

    async def short_lived(route: Route) -> None:
        # identity's real answer, its token swapped for one that expires in a few seconds:
        # a 15-minute token expiring, without waiting 15 minutes.
        answer = await route.fetch()
        body = await answer.json()
        body["access_token"] = expiring_soon(
            platform, body["access_token"], valid_for=timedelta(seconds=10)
        )
        await route.fulfill(response=answer, json=body)

    await page.route(SIGN_IN, short_lived)
    await sign_in(page, platform.staff_email, platform.staff_password)
    await status(page, "updated")
    text = await status(page, "expired")
    assert "sign in again" in text
    assert await is_signed_out(page)
    # The address is kept for the re-prompt; the password is not.
    assert await page.locator("#email").input_value() == platform.staff_email
    await screenshot(page, tmp_path, "ops-dashboard-gateway-expired.png")

    await page.unroute(SIGN_IN)
    await sign_in(page, platform.staff_email, platform.staff_password)
    await status(page, "updated")
    assert problems == [], problems
