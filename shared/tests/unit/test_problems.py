"""Every error of a FastAPI app as an RFC 9457 problem document, without echoing input."""

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel, EmailStr, Field

from byggrygg_shared.observability import RequestContextMiddleware
from byggrygg_shared.problems import (
    PROBLEM_MEDIA_TYPE,
    Conflict,
    Problem,
    install_problem_handlers,
    problem_responses,
)

SECRET_PASSWORD = "hunter2-very-secret"
EMAIL = "kari.nordmann@example.no"


class Registration(BaseModel):
    email: EmailStr
    password: str = Field(min_length=30)
    age: int


class EmailTaken(Conflict):
    default_title = "E-mail already registered"
    default_type = "email-taken"


def make_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)

    @app.post("/registrations", status_code=201, responses=problem_responses(409, 422))
    async def register(registration: Registration) -> dict[str, str]:
        if registration.age == 42:
            raise EmailTaken("Log in instead.", extensions={"retry": False})
        return {"status": "ok"}

    @app.get("/search")
    async def search(limit: Annotated[int, Query(le=100)]) -> dict[str, int]:
        return {"limit": limit}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(f"database said: duplicate key (email)=({EMAIL})")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    return dict(body)


async def test_malformed_json_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/registrations",
        content=b'{"email": "' + EMAIL.encode() + b'", "password": ',
        headers={"content-type": "application/json"},
    )

    body = assert_problem(response, 400)
    assert body["type"] == "https://byggrygg.no/problems/malformed-json"
    assert body["instance"] == "/registrations"
    assert EMAIL not in response.text


async def test_validation_errors_are_a_422_without_the_input(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/registrations",
        json={"email": "not-an-email " + EMAIL, "password": SECRET_PASSWORD, "age": "old"},
    )

    body = assert_problem(response, 422)
    assert body["type"] == "https://byggrygg.no/problems/validation-failed"
    fields = {tuple(error["loc"]): error["type"] for error in body["errors"]}  # type: ignore[union-attr]
    assert set(fields) == {("body", "email"), ("body", "password"), ("body", "age")}
    assert fields[("body", "password")] == "string_too_short"
    assert SECRET_PASSWORD not in response.text
    assert EMAIL not in response.text
    assert "input" not in response.text


async def test_query_validation_is_a_422(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/search", params={"limit": 1000}), 422)
    assert body["errors"] == [
        {
            "loc": ["query", "limit"],
            "type": "less_than_equal",
            "msg": "Input should be less than or equal to 100",
        }
    ]


async def test_domain_problem_keeps_its_type_and_extensions(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/registrations", json={"email": EMAIL, "password": "x" * 30, "age": 42}
    )

    body = assert_problem(response, 409)
    assert body == {
        "type": "https://byggrygg.no/problems/email-taken",
        "title": "E-mail already registered",
        "status": 409,
        "detail": "Log in instead.",
        "instance": "/registrations",
        "request_id": response.headers["x-request-id"],
        "retry": False,
    }


async def test_unknown_route_is_a_404(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/nowhere"), 404)
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"
    assert body["instance"] == "/nowhere"


async def test_wrong_method_is_a_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/registrations")

    assert_problem(response, 405)
    assert response.headers["allow"] == "POST"


async def test_unhandled_exception_is_a_500_without_details(client: httpx.AsyncClient) -> None:
    response = await client.get("/boom", headers={"X-Request-ID": "req-boom-1"})

    body = assert_problem(response, 500)
    assert body["request_id"] == "req-boom-1"
    assert set(body) == {"type", "title", "status", "detail", "instance", "request_id"}
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    assert EMAIL not in response.text


async def test_unhandled_exception_without_request_context() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise ValueError("secret")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/boom")

    assert response.status_code == 500
    assert response.json()["title"] == "Internal Server Error"
    assert "secret" not in response.text


def test_problem_defaults_and_guards() -> None:
    assert Problem(status=418).title == "I'm a Teapot"
    assert Problem(status=418).type_uri == "about:blank"
    assert EmailTaken(status=400).title == "Bad Request"  # a status override drops the class title
    with pytest.raises(ValueError, match="status"):
        Problem(extensions={"status": 200})


def test_openapi_documents_problem_responses() -> None:
    schema = make_app().openapi()
    responses = schema["paths"]["/registrations"]["post"]["responses"]

    assert set(responses) >= {"201", "409", "422"}
    assert PROBLEM_MEDIA_TYPE in responses["409"]["content"]
    assert responses["409"]["content"][PROBLEM_MEDIA_TYPE]["schema"]["required"] == [
        "type",
        "title",
        "status",
    ]
