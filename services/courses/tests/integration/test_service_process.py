"""The served process end to end: `courses migrate` and `courses serve` with exactly the
environment a deployment gives (database, key ring, JWKS URL, Kafka), /readyz with every check,
an authenticated command whose event the outbox relay publishes, and the consumer enrolling a
learner from a LicenceGranted on Kafka."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from byggrygg_shared.auth import Principal, Role, TokenIssuer
from byggrygg_shared.contracts import identity
from byggrygg_shared.envelope import EventMetadata, kafka_record
from byggrygg_shared.eventstore import metadata_document
from byggrygg_shared.keyring import create_master_key_file
from byggrygg_shared.outbox import make_idempotent_producer

from ....service_testing import free_port, run_cli
from .support import course_body, new_subject_ref

DEADLINE_SECONDS = 90.0


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=30)
    except TimeoutError:
        process.kill()
        await process.wait()


async def eventually_true(check: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


@pytest.fixture
async def jwks(tmp_path: Path) -> AsyncIterator[tuple[str, TokenIssuer]]:
    """A static JWKS document served over HTTP, as identity serves its keys."""
    issuer = TokenIssuer(Ed25519PrivateKey.generate())
    root = tmp_path / "jwks"
    (root / ".well-known").mkdir(parents=True)
    (root / ".well-known" / "jwks.json").write_text(json.dumps(issuer.jwks()))
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(root),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/.well-known/jwks.json"
    try:
        async with httpx.AsyncClient() as http:

            async def up() -> bool:
                try:
                    return (await http.get(url)).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually_true(up, "the JWKS server")
        yield url, issuer
    finally:
        await stop(server)


@pytest.mark.slow
async def test_served_courses_is_ready_publishes_and_consumes(
    fresh_database: str,
    tmp_path: Path,
    kafka_bootstrap: str,
    new_topic: Any,
    jwks: tuple[str, TokenIssuer],
) -> None:
    jwks_url, issuer = jwks
    user_topic = await new_topic("identity-user")
    await new_topic(f"{user_topic}.dlq")
    master_key = tmp_path / "keyring-master.key"
    create_master_key_file(master_key)
    env = {
        "BYGGRYGG_COURSES_DATABASE_URL": fresh_database,
        "BYGGRYGG_KEYRING_DATABASE_URL": fresh_database,
        "BYGGRYGG_KEYRING_MASTER_KEY_FILE": str(master_key),
        "BYGGRYGG_JWKS_URL": jwks_url,
        "BYGGRYGG_KAFKA_BOOTSTRAP": kafka_bootstrap,
        # A topic and group of this test's own, so it never competes with a running platform.
        "BYGGRYGG_COURSES_USER_TOPIC": user_topic,
        "BYGGRYGG_COURSES_CONSUMER_GROUP": f"courses-test-{uuid4().hex[:8]}",
    }
    code, output = await run_cli("courses", "migrate", env=env)
    assert code == 0, output

    port = free_port()
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from courses.main import cli; cli()",
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
        async with httpx.AsyncClient(base_url=base) as http:

            async def ready() -> bool:
                assert process.returncode is None, log_path.read_text()
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually_true(ready, "/readyz")
            checks = (await http.get("/readyz")).json()["checks"]
            assert checks == {"database": "ok", "keyring": "ok", "kafka": "ok", "consumers": "ok"}

            staff = issuer.issue(
                Principal(str(uuid4()), new_subject_ref(), None, frozenset({Role.PLATFORM_STAFF}))
            )
            created = await http.post(
                "/courses", json=course_body(), headers={"Authorization": f"Bearer {staff}"}
            )
            assert created.status_code == 201, created.text

        conn = await asyncpg.connect(fresh_database)
        try:

            async def relayed() -> bool:
                return bool(
                    await conn.fetchval("SELECT bool_and(published_at IS NOT NULL) FROM events")
                )

            await eventually_true(relayed, "the outbox relay to publish CourseCreated")

            organisation = uuid4()
            event = identity.LicenceGranted(
                user_id=uuid4(),
                subject_ref=new_subject_ref(),
                organisation_id=organisation,
                licence_id=uuid4(),
                granted_by="admin",
            )
            record = kafka_record(
                topic=user_topic,
                stream_id=f"user-{event.user_id}",
                ce_type=event.ce_type(),
                payload=event.model_dump(mode="json"),
                metadata=metadata_document(event, EventMetadata.new()),
                source_service="identity",
            )
            producer = make_idempotent_producer(kafka_bootstrap)
            await producer.start()
            try:
                await producer.send_and_wait(
                    user_topic, value=record.value, key=record.key, headers=record.headers
                )
            finally:
                await producer.stop()

            async def licensed() -> bool:
                return bool(
                    await conn.fetchval(
                        "SELECT count(*) FROM learners WHERE user_id = $1", event.user_id
                    )
                )

            await eventually_true(licensed, "the consumer to record the licence")
        finally:
            await conn.close()
    finally:
        await stop(process)
        log.close()
    assert "Traceback" not in log_path.read_text()
