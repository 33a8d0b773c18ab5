"""The gateway of `make up` in front of the running services (decisions.md: nginx on 8080).

These tests need the whole local platform, not only the infrastructure: nginx on
127.0.0.1:8080 routing /api/identity/ to identity on 127.0.0.1:8101. They fail (never skip)
with "run make up" when it is not running.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from ..identity_client import assert_problem

GATEWAY = "http://127.0.0.1:8080"
IDENTITY = "http://127.0.0.1:8101"
BODY_LIMIT_BYTES = 1024 * 1024  # client_max_body_size 1m


async def _require(client: httpx.AsyncClient, url: str, what: str) -> None:
    try:
        await client.get(url)
    except httpx.TransportError:
        pytest.fail(f"{what} is not answering at {url}: run `make up`", pytrace=False)


@pytest_asyncio.fixture(loop_scope="session")
async def gateway() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=10.0) as client:
        await _require(client, f"{GATEWAY}/healthz", "the nginx gateway")
        await _require(client, f"{IDENTITY}/healthz", "the identity service")
        yield client


async def test_the_gateway_routes_to_identity_and_echoes_the_request_id(
    gateway: httpx.AsyncClient,
) -> None:
    request_id = f"e2e-{uuid.uuid4().hex}"
    response = await gateway.get("/api/identity/healthz", headers={"X-Request-ID": request_id})
    assert response.status_code == 200, response.text
    # Both the gateway and the service set the header; every copy must be the caller's id.
    echoed = response.headers.get_list("x-request-id")
    assert echoed, "no X-Request-ID in the response"
    assert set(echoed) == {request_id}


async def test_the_gateway_gives_a_request_id_when_the_caller_has_none(
    gateway: httpx.AsyncClient,
) -> None:
    first = await gateway.get("/api/identity/healthz")
    second = await gateway.get("/api/identity/healthz")
    assert first.status_code == second.status_code == 200
    ids = [set(r.headers.get_list("x-request-id")) for r in (first, second)]
    # One id per request, the same in the gateway's and the service's copy, never reused.
    assert all(len(found) == 1 for found in ids), ids
    assert ids[0] != ids[1]


async def test_an_unknown_route_is_a_404_problem(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/api/nope/", headers={"X-Request-ID": "e2e-unknown-route"})
    assert_problem(response, 404)
    assert response.headers.get_list("x-request-id") == ["e2e-unknown-route"]


async def test_a_body_over_the_limit_is_a_413_problem(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/api/identity/auth/token",
        content=b"{" + b" " * BODY_LIMIT_BYTES + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 413)


async def test_the_api_docs_work_behind_the_gateway(gateway: httpx.AsyncClient) -> None:
    page = await gateway.get("/api/identity/docs")
    assert page.status_code == 200
    assert "'/api/identity/openapi.json'" in page.text
    schema = await gateway.get("/api/identity/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "ByggRygg identity"
