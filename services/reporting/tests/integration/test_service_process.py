"""The served process end to end: `reporting migrate` and `reporting serve` with exactly the
environment a deployment gives (database, key ring, JWKS URL, Kafka with a topic prefix),
/readyz with every check, courses' events projected from Kafka, and a privacy command answered
with a reply the outbox relay publishes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from byggrygg_shared.contracts.privacy import EraseSubject
from byggrygg_shared.keyring import create_master_key_file

from ....participant_testing import command_record, eventually, produce
from ....service_testing import free_port, run_cli
from .support import CourseStory

NewTopic = Callable[..., Awaitable[str]]


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=30)
    except TimeoutError:
        process.kill()
        await process.wait()


@pytest.fixture
async def jwks_url(tmp_path: Path) -> AsyncIterator[str]:
    """A (keyless) JWKS document served over HTTP: /readyz does not need a token."""
    root = tmp_path / "jwks"
    (root / ".well-known").mkdir(parents=True)
    (root / ".well-known" / "jwks.json").write_text(json.dumps({"keys": []}))
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
    try:
        yield f"http://127.0.0.1:{port}/.well-known/jwks.json"
    finally:
        await stop(server)


@pytest.mark.slow
async def test_served_reporting_is_ready_projects_and_answers_privacy_commands(
    fresh_database: str,
    tmp_path: Path,
    kafka_bootstrap: str,
    new_topic: NewTopic,
    jwks_url: str,
) -> None:
    # The deployment's topic names under a prefix of this test's own (as the harness does).
    prefix = f"rt{uuid.uuid4().hex[:8]}."
    names = (
        "courses.catalogue.v1",
        "courses.enrolment.v1",
        "privacy.commands.reporting.v1",
        "privacy.replies.v1",
        "privacy.requests.v1",  # the ops read model's subscriber reads it
    )
    topics = {name: prefix + name for name in names}
    for topic in topics.values():
        await new_topic(topic, exact=True)
        await new_topic(f"{topic}.dlq", exact=True)
    master_key = tmp_path / "keyring-master.key"
    create_master_key_file(master_key)
    env = {
        "BYGGRYGG_REPORTING_DATABASE_URL": fresh_database,
        "BYGGRYGG_KEYRING_DATABASE_URL": fresh_database,
        "BYGGRYGG_KEYRING_MASTER_KEY_FILE": str(master_key),
        "BYGGRYGG_JWKS_URL": jwks_url,
        "BYGGRYGG_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "BYGGRYGG_KAFKA_TOPIC_PREFIX": prefix,
        "BYGGRYGG_REPORTING_CONSUMER_GROUP": f"reporting-test-{uuid.uuid4().hex[:8]}",
    }
    code, output = await run_cli("reporting", "migrate", env=env)
    assert code == 0, output

    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from reporting.main import cli; cli()",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env={**os.environ, **env},
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    conn = await asyncpg.connect(fresh_database)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def ready() -> bool:
                assert process.returncode is None, log_path.read_text()
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, what="/readyz")
            checks = (await http.get("/readyz")).json()["checks"]
            assert checks == {"database": "ok", "kafka": "ok", "consumers": "ok"}
            assert (await http.get("/healthz")).status_code == 200
            assert "byggrygg" in (await http.get("/metrics")).text

        story = CourseStory(
            catalogue_topic=topics["courses.catalogue.v1"],
            enrolment_topic=topics["courses.enrolment.v1"],
        )
        organisation = uuid.uuid4()
        course = story.course(organisations=(organisation,))
        kari = story.enrol(course, organisation)
        story.answer(kari, course.scale, scale_value=3)
        await produce(kafka_bootstrap, *story.records)

        async def projected() -> bool:
            return bool(await conn.fetchval("SELECT count(*) FROM answers"))

        await eventually(projected, what="the projection of courses' events")

        command = EraseSubject(
            request_id=uuid.uuid4(),
            participant="reporting",
            subject_ref=kari.subject_ref,
            organisation_id=organisation,
            issued_at=datetime.now(UTC),
            holds=[],
        )
        await produce(
            kafka_bootstrap,
            command_record(command, topic=topics["privacy.commands.reporting.v1"]),
        )

        async def replied_and_published() -> bool:
            # Published by the relay to <prefix>privacy.replies.v1, this test's own topic.
            return bool(
                await conn.fetchval(
                    "SELECT count(*) FROM events WHERE event_type LIKE '%ParticipantReplied' "
                    "AND published_at IS NOT NULL"
                )
            )

        await eventually(replied_and_published, what="the reply on Kafka")
        assert not await conn.fetchval(
            "SELECT count(*) FROM enrolments WHERE subject_ref IS NOT NULL"
        )
    finally:
        await conn.close()
        await stop(process)
