"""The demo seed's HTTP client: every call goes through the nginx gateway, as the portal's do.

Only the thin part every step shares: JSON in and out, bearer tokens, and a clear failure
(`SeedFailed` with the service's problem document) when a call does not answer as expected.
"""

from __future__ import annotations

from typing import Any

import httpx

DEFAULT_GATEWAY = "http://127.0.0.1:8080"


class SeedFailed(Exception):
    """A step of the seed could not be done; the message says which call and why."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Gateway:
    """JSON calls to `/api/<service>/...` behind the gateway."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> Any:
        """The decoded JSON answer (None for an empty body); SeedFailed on another status."""
        url = f"/api/{service}{path}"
        response = await self._http.request(
            method, url, json=json, params=params, headers=bearer(token) if token else None
        )
        if response.status_code not in expect:
            # The problem document names the field or rule; it never echoes a password.
            raise SeedFailed(f"{method} {url} answered {response.status_code}: {response.text}")
        if not response.content:
            return None
        return response.json()

    async def status(self, method: str, service: str, path: str, *, token: str) -> int:
        """Only the status code of a call (for probes such as "is this refused?")."""
        response = await self._http.request(method, f"/api/{service}{path}", headers=bearer(token))
        return response.status_code

    async def log_in(self, email: str, password: str) -> str:
        body = await self.call(
            "POST", "identity", "/auth/token", json={"email": email, "password": password}
        )
        return str(body["access_token"])

    async def try_log_in(self, email: str, password: str) -> str | None:
        response = await self._http.post(
            "/api/identity/auth/token", json={"email": email, "password": password}
        )
        if response.status_code != 200:
            return None
        return str(response.json()["access_token"])
