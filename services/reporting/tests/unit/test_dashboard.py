"""The ops dashboard's files: served with a self-only CSP and nothing else reachable, no inline
script, and the vendored chart library is the one package-lock.json pins (sha256 as built)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from reporting.entrypoints.api import create_app
from reporting.entrypoints.routers.dashboard import ASSETS, CONTENT_SECURITY_POLICY

SERVICE = Path(__file__).resolve().parents[2]
STATIC = SERVICE / "src" / "reporting" / "static"
WEB = SERVICE / "web"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://reporting") as client:
        yield client


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
