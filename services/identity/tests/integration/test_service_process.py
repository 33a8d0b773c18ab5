"""The served process end to end: `identity serve` on real PostgreSQL and Kafka answers /readyz,
and the outbox relay puts the events of an HTTP command on the topic, as CloudEvents with
ciphertext for personal fields."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from byggrygg_shared.contracts.identity import ORGANISATION_TOPIC, USER_TOPIC
from byggrygg_shared.envelope import from_kafka_record

from ....service_testing import free_port, run_cli
from .support import PASSWORD, cli_env, organisation_body

DEADLINE_SECONDS = 90.0
TOPIC_ALREADY_EXISTS = 36


async def ensure_topics(bootstrap: str, *names: str) -> None:
    """The deployment creates identity's topics (deploy/topics.toml); do it here if it did not."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        missing = [n for n in names if n not in await admin.list_topics()]
        if missing:
            response = await admin.create_topics([NewTopic(n, 3, 1) for n in missing])
            for _, code, *_ in response.topic_errors:
                assert code in (0, TOPIC_ALREADY_EXISTS), code
    finally:
        await admin.close()


@pytest.fixture
async def served(
    fresh_database: str, tmp_path: Path, kafka_bootstrap: str, new_topic: Any
) -> AsyncIterator[tuple[str, str]]:
    """A running `identity serve` with a staff account; yields (base url, database dsn)."""
    await ensure_topics(kafka_bootstrap, ORGANISATION_TOPIC, USER_TOPIC)
    # The privacy commands on a topic and group of this test's own (never a running platform's).
    command_topic = await new_topic("privacy-commands-identity")
    await new_topic(f"{command_topic}.dlq")
    env = {
        **cli_env(fresh_database, tmp_path),
        "BYGGRYGG_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "BYGGRYGG_IDENTITY_PRIVACY_COMMAND_TOPIC": command_topic,
        "BYGGRYGG_IDENTITY_CONSUMER_GROUP": f"identity-test-{uuid.uuid4().hex[:8]}",
    }
    code, output = await run_cli("identity", "migrate", env=env)
    assert code == 0, output
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD)
    code, output = await run_cli(
        "identity",
        "create-staff",
        "--email",
        "ops@byggrygg.example.no",
        "--password-file",
        str(password_file),
        env=env,
    )
    assert code == 0, output
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from identity.main import cli; cli()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env={**os.environ, **env},
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        async with httpx.AsyncClient(base_url=base) as http:
            while True:
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.returncode is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                await asyncio.sleep(0.2)
        yield base, fresh_database
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.close()


async def find_record(
    bootstrap: str, topic: str, key: bytes
) -> tuple[list[tuple[str, bytes]], bytes]:
    """Headers and value of the record with `key` on `topic`, polling until the deadline."""
    # Without a group, aiokafka reads every partition of the topic; from the beginning.
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if record.key == key:
                        return list(record.headers), record.value or b""
    finally:
        await consumer.stop()
    raise AssertionError(f"no record with key {key!r} on {topic}")


@pytest.mark.slow
async def test_served_identity_publishes_its_events(
    served: tuple[str, str], kafka_bootstrap: str
) -> None:
    base, _ = served
    async with httpx.AsyncClient(base_url=base) as http:
        ready = await http.get("/readyz")
        assert ready.json()["checks"] == {"database": "ok", "keyring": "ok", "kafka": "ok"}
        login = await http.post(
            "/auth/token", json={"email": "ops@byggrygg.example.no", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        headers = {
            "Authorization": f"Bearer {login.json()['access_token']}",
            "X-Request-ID": f"test-{uuid4().hex}",
        }
        created = await http.post("/organisations", json=organisation_body(), headers=headers)
        assert created.status_code == 201, created.text
        assert created.headers["x-request-id"] == headers["X-Request-ID"]
        metrics = await http.get("/metrics")
        assert metrics.status_code == 200
        assert "http_request" in metrics.text
    organisation_id = created.json()["organisation_id"]

    record_headers, value = await find_record(
        kafka_bootstrap, ORGANISATION_TOPIC, f"organisation-{organisation_id}".encode()
    )
    event = from_kafka_record(record_headers, value)
    assert event.type == "no.byggrygg.identity.OrganisationRegistered.v1"
    assert event.source == "/services/identity"
    assert event.tenant_id == organisation_id
    assert event.correlation_id == headers["X-Request-ID"]
    assert "hansen.example.no" not in value.decode()
    assert json.loads(value)["email"].startswith("enc:v1:")
    assert event.contract().model_dump()["organisation_number"] == "992797010"
