"""The ops dashboard's files: served with a self-only CSP and nothing else reachable, no inline
script, and the vendored chart library is the one package-lock.json pins (sha256 as built).
Where the page signs in: identity's sibling route behind the gateway (CSP still self-only),
the configured identity served directly (its origin, and only it, added to connect-src)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from reporting.entrypoints.api import create_app
from reporting.entrypoints.routers.dashboard import ASSETS, CONTENT_SECURITY_POLICY
from reporting.entrypoints.routers.dashboard_sign_in import content_security_policy
from reporting.settings import ReportingSettings

SERVICE = Path(__file__).resolve().parents[2]
STATIC = SERVICE / "src" / "reporting" / "static"
WEB = SERVICE / "web"


IDENTITY_META = re.compile(r'<meta name="byggrygg-identity-url" content="([^"]*)">')


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://reporting")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(create_app()) as client:
        yield client


def identity_url(page: httpx.Response) -> str:
    found = IDENTITY_META.search(page.text)
    assert found is not None, "the page does not say where identity is"
    return found.group(1)


async def test_the_page_is_served_with_a_self_only_csp(http: httpx.AsyncClient) -> None:
    response = await http.get("/ops/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    # No inline script or style, no inline handler: every <script> has a src of our own.
    html = response.text
    assert re.findall(r"<script(?![^>]*\bsrc=\"dashboard/assets/)", html) == []
    assert "<style" not in html
    assert re.search(r"\son[a-z]+=", html) is None
    assert "://" not in html  # nothing from another origin
    # Served directly with no identity configured: nowhere to sign in (the page says so).
    assert identity_url(response) == ""


async def test_behind_the_gateway_the_page_signs_in_on_its_own_origin(
    http: httpx.AsyncClient,
) -> None:
    # nginx strips /api/reporting and says so in X-Forwarded-Prefix (deploy/nginx).
    response = await http.get("/ops/dashboard", headers={"X-Forwarded-Prefix": "/api/reporting"})
    assert response.status_code == 200
    assert identity_url(response) == "/api/identity"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "connect-src 'self';" in CONTENT_SECURITY_POLICY
    assert "form-action 'none'" in CONTENT_SECURITY_POLICY


async def test_served_directly_it_signs_in_at_the_configured_identity() -> None:
    app = create_app()
    app.state.dashboard_identity_url = "http://127.0.0.1:8101"
    async with client_of(app) as http:
        direct = await http.get("/ops/dashboard")
        behind = await http.get("/ops/dashboard", headers={"X-Forwarded-Prefix": "/api/reporting"})
    assert identity_url(direct) == "http://127.0.0.1:8101"
    policy = direct.headers["content-security-policy"]
    assert "connect-src 'self' http://127.0.0.1:8101;" in policy
    assert policy == content_security_policy("http://127.0.0.1:8101")
    # The gateway's layout wins: the same process behind the gateway stays same-origin.
    assert identity_url(behind) == "/api/identity"
    assert behind.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_a_forged_prefix_cannot_put_markup_or_another_origin_in_the_page(
    http: httpx.AsyncClient,
) -> None:
    for prefix in ('/x"><script>/reporting', "//evil.example/reporting", "/API/reporting"):
        response = await http.get("/ops/dashboard", headers={"X-Forwarded-Prefix": prefix})
        assert identity_url(response) == "", prefix
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_the_identity_url_setting_is_an_absolute_url() -> None:
    for good in ("http://127.0.0.1:8101", "https://id.example.no/api/identity"):
        assert ReportingSettings(reporting_dashboard_identity_url=good)
    for bad in ("/api/identity", "http://x/", "javascript:alert(1)", 'http://x"y', "http://x?a"):
        with pytest.raises(ValidationError):
            ReportingSettings(reporting_dashboard_identity_url=bad)


@pytest.mark.parametrize("name", sorted(ASSETS))
async def test_each_asset_is_served(http: httpx.AsyncClient, name: str) -> None:
    response = await http.get(f"/ops/dashboard/assets/{name}")
    assert response.status_code == 200
    assert response.content == (STATIC / name).read_bytes()
    assert response.headers["content-type"] == ASSETS[name]
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "name", ["dashboard.html", "../settings.py", "vendor/manifest.json", "nope.js", "%2e%2e/x"]
)
async def test_nothing_else_is_served(http: httpx.AsyncClient, name: str) -> None:
    response = await http.get(f"/ops/dashboard/assets/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_page_is_not_in_the_api_document(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path.startswith("/ops/dashboard")]


def test_the_vendored_chart_library_is_the_locked_one() -> None:
    manifest = json.loads((STATIC / "vendor" / "manifest.json").read_text())["chart.js"]
    lock = json.loads((WEB / "package-lock.json").read_text())
    assert manifest["version"] == lock["packages"]["node_modules/chart.js"]["version"]
    vendored = (STATIC / "vendor" / manifest["file"]).read_bytes()
    assert hashlib.sha256(vendored).hexdigest() == manifest["sha256"]
    assert vendored.startswith(f"/*!\n * Chart.js v{manifest['version']}\n".encode())
    assert f"vendor/{manifest['file']}" in ASSETS
