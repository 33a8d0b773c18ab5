"""Swagger UI and other self-rendered links follow the gateway's prefix, and only a safe one."""

import httpx
import pytest
from fastapi import FastAPI

from byggrygg_shared.forwarded import ForwardedPrefixMiddleware


def app() -> FastAPI:
    application = FastAPI()
    application.add_middleware(ForwardedPrefixMiddleware)

    @application.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    return application


async def docs_page(headers: dict[str, str]) -> str:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        response = await client.get("/docs", headers=headers)
        assert (await client.get("/ping", headers=headers)).json() == {"pong": "yes"}
    assert response.status_code == 200
    return response.text


async def test_the_docs_page_loads_its_schema_through_the_gateway_prefix() -> None:
    page = await docs_page({"X-Forwarded-Prefix": "/api/identity"})
    assert "'/api/identity/openapi.json'" in page


async def test_without_the_header_the_schema_is_at_the_root() -> None:
    page = await docs_page({})
    assert "'/openapi.json'" in page


@pytest.mark.parametrize(
    "prefix", ["//evil.example", "/api/x'+alert(1)+'", "https://evil.example", "/API/../x"]
)
async def test_a_prefix_that_is_not_a_plain_path_is_ignored(prefix: str) -> None:
    page = await docs_page({"X-Forwarded-Prefix": prefix})
    assert "'/openapi.json'" in page
