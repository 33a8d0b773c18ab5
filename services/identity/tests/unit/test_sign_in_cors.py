"""CORS for a directly served ops dashboard: only POST /auth/token, only the listed origins,
never with credentials; no CORS when nothing is listed; origins are validated."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from identity.entrypoints.api import create_app
from identity.entrypoints.cors import SignInCors
from identity.settings import IdentitySettings

DASHBOARD = "http://127.0.0.1:8105"
PREFLIGHT = {
    "Origin": DASHBOARD,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


def app_with(origins: tuple[str, ...]) -> FastAPI:
    app: FastAPI = create_app()
    if origins:
        app.add_middleware(SignInCors, origins=origins)
    return app


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_with((DASHBOARD,)))
    async with httpx.AsyncClient(transport=transport, base_url="http://identity") as client:
        yield client


async def test_a_listed_origin_may_post_to_the_sign_in(http: httpx.AsyncClient) -> None:
    response = await http.options("/auth/token", headers=PREFLIGHT)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == DASHBOARD
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in response.headers


async def test_another_origin_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.options(
        "/auth/token", headers={**PREFLIGHT, "Origin": "http://evil.example"}
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_no_other_route_answers_cors(http: httpx.AsyncClient) -> None:
    for path in ("/me", "/.well-known/jwks.json", "/organisations"):
        response = await http.options(path, headers=PREFLIGHT)
        assert "access-control-allow-origin" not in response.headers, path


async def test_nothing_listed_means_no_cors() -> None:
    transport = httpx.ASGITransport(app=app_with(()))
    async with httpx.AsyncClient(transport=transport, base_url="http://identity") as client:
        response = await client.options("/auth/token", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in response.headers


def test_the_setting_takes_exact_origins_only() -> None:
    settings = IdentitySettings(identity_cors_origins=f"{DASHBOARD}, https://ops.example.no")
    assert settings.cors_origins == (DASHBOARD, "https://ops.example.no")
    assert IdentitySettings(identity_cors_origins="").cors_origins == ()
    for bad in ("*", "http://127.0.0.1:8105/", "127.0.0.1:8105", "http://x/path"):
        with pytest.raises(ValidationError):
            IdentitySettings(identity_cors_origins=bad)
