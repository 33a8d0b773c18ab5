"""JSON logs without personal data; request ids, Prometheus metrics and health endpoints."""

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import structlog
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import BaseModel

from byggrygg_shared.correlation import bound_correlation_id, current_correlation_id
from byggrygg_shared.observability import configure_logging, instrument_app
from byggrygg_shared.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

EMAIL = "ola.nordmann@example.no"


class Profile(BaseModel):
    subject_ref: str
    email: str


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("test-service", "DEBUG", stream=stream)
    try:
        yield stream
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if getattr(handler, "_byggrygg_json_handler", False):
                root.removeHandler(handler)
        structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_log_lines_are_json_with_service_level_time_and_correlation_id(
    log_output: io.StringIO,
) -> None:
    with bound_correlation_id("corr-123"):
        structlog.get_logger("test").info("user_registered", subject_ref="subj_1", count=2)

    (line,) = lines(log_output)
    assert line["message"] == "user_registered"
    assert line["service"] == "test-service"
    assert line["level"] == "info"
    assert line["correlation_id"] == "corr-123"
    assert line["subject_ref"] == "subj_1"
    assert line["count"] == 2
    assert str(line["timestamp"]).endswith("Z")


def test_an_email_never_reaches_the_log(log_output: io.StringIO) -> None:
    log = structlog.get_logger("test")
    log.info("registered", email=EMAIL, subject_ref="subj_2")
    log.info(f"welcome mail sent to {EMAIL}")
    log.info("profile", profile=Profile(subject_ref="subj_3", email=EMAIL))
    log.info("nested", data={"contact": {"userEmail": EMAIL}, "list": [EMAIL]})
    log.warning("login", first_name="Ola", phone="+4799999999", password="pw-123456", token="t")
    logging.getLogger("some.library").error("could not deliver to %s", EMAIL)
    try:
        raise ValueError(f"duplicate key (email)=({EMAIL})")
    except ValueError:
        log.exception("insert_failed")

    output = log_output.getvalue()
    assert EMAIL not in output
    for secret in ("Ola", "+4799999999", "pw-123456"):
        assert secret not in output
    records = lines(log_output)
    assert len(records) == 7
    assert records[0]["email"] == "[redacted]"
    assert records[0]["subject_ref"] == "subj_2"
    assert records[1]["message"] == "welcome mail sent to [redacted-email]"
    assert records[2]["profile"] == {"subject_ref": "subj_3", "email": "[redacted]"}
    assert records[5]["logger"] == "some.library"
    exception = records[6]["exception"]
    assert isinstance(exception, dict)
    assert exception["type"] == "builtins.ValueError"
    assert "duplicate key" not in output  # the exception's message is never logged


def make_app(checks: dict[str, object] | None = None) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    instrument_app(app, readiness_checks=checks, readiness_timeout=0.2)  # type: ignore[arg-type]

    @app.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str | None]:
        return {"item": item_id, "correlation_id": current_correlation_id()}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_request_id_round_trip(client: httpx.AsyncClient) -> None:
    given = await client.get("/items/1", headers={"X-Request-ID": "abc-123.def"})
    made = await client.get("/items/1")
    forged = await client.get("/items/1", headers={"X-Request-ID": "x" * 200})

    assert given.headers["x-request-id"] == "abc-123.def"
    assert given.json()["correlation_id"] == "abc-123.def"
    assert len(made.headers["x-request-id"]) == 32
    assert made.json()["correlation_id"] == made.headers["x-request-id"]
    assert forged.headers["x-request-id"] != "x" * 200
    assert current_correlation_id() is None  # unbound after the request


def counted(route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "byggrygg_http_requests_total", {"method": "GET", "route": route, "status": status}
    )
    return value or 0.0


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    before_ok = counted("/items/{item_id}", "200")
    before_unmatched = counted("unmatched", "404")

    await client.get(f"/items/{EMAIL}")
    await client.get("/items/2?email=" + EMAIL)
    await client.get("/no/such/route")
    metrics = await client.get("/metrics")

    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert counted("/items/{item_id}", "200") == before_ok + 2
    assert counted("unmatched", "404") == before_unmatched + 1
    text = metrics.text
    assert (
        'byggrygg_http_requests_total{method="GET",route="/items/{item_id}",status="200"}' in text
    )
    assert "byggrygg_http_request_duration_seconds_bucket" in text
    assert "byggrygg_outbox_backlog" in text
    assert EMAIL not in text
    assert "/items/2" not in text


async def test_access_log_names_the_route_not_the_path(
    client: httpx.AsyncClient, log_output: io.StringIO
) -> None:
    await client.get(f"/items/{EMAIL}", headers={"X-Request-ID": "req-log-1"})

    (access,) = [line for line in lines(log_output) if line["message"] == "http_request"]
    assert access["route"] == "/items/{item_id}"
    assert access["status"] == 200
    assert access["correlation_id"] == "req-log-1"
    assert EMAIL not in log_output.getvalue()


async def test_health_and_readiness() -> None:
    async def database_ok() -> None:
        return None

    async def kafka_down() -> None:
        raise ConnectionError("postgresql://byggrygg:s3cret@10.0.0.1/identity")

    async def hangs() -> None:
        await asyncio.Event().wait()

    failing = make_app({"database": database_ok, "kafka": kafka_down, "keyring": hangs})
    healthy = make_app({"database": database_ok})
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=failing), base_url="http://t") as bad,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=healthy), base_url="http://t") as good,
    ):
        alive = await bad.get("/healthz")
        not_ready = await bad.get("/readyz")
        ready = await good.get("/readyz")

    assert alive.status_code == 200
    assert alive.json() == {"status": "ok"}
    assert not_ready.status_code == 503
    assert not_ready.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = not_ready.json()
    assert body["type"] == "https://byggrygg.no/problems/not-ready"
    assert body["failing_checks"] == {"kafka": "ConnectionError", "keyring": "timeout"}
    assert "s3cret" not in not_ready.text
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}
