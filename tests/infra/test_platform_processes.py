"""The cross-service harness (tests/platform_processes.py) wires its processes to each other.

identity, courses, consent, the privacy orchestrator and reporting run as real processes on
databases of their own and on Kafka topics of the session (a prefixed copy of deploy/topics.toml);
courses and consent accept tokens identity issued (through identity's JWKS URL); consent's
mail goes to the session's own mail sink, with links to the session's own consent; courses
consumes in a consumer group of its own; HeiHallo's simulator answers the orchestrator.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient

from ..identity_client import IdentityApi
from ..mail_reader import MailReader
from ..platform_processes import Platform, platform_topic_specs


async def _members(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    [described] = response.to_object()["groups"]
    return len(described["members"]) if described["error_code"] == 0 else 0


async def test_each_service_has_its_own_database(platform: Platform) -> None:
    names = set()
    for service in platform.services.values():
        conn = await asyncpg.connect(service.database_url)
        try:
            names.add(await conn.fetchval("SELECT current_database()"))
        finally:
            await conn.close()
    # identity, courses, consent, the orchestrator and reporting (which runs with the orchestrator).
    assert len(names) == len(platform.services) == 5
    assert all(name.startswith("e2e_") for name in names)


async def test_the_session_has_its_own_copy_of_every_platform_topic(
    platform: Platform, kafka_bootstrap: str
) -> None:
    assert platform.topic_prefix.startswith("e2e-")
    assert platform.env["BYGGRYGG_KAFKA_TOPIC_PREFIX"] == platform.topic_prefix
    declared = {spec.name: spec.partitions for spec in platform_topic_specs()}
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(platform.topics())
    finally:
        await admin.close()
    found = {
        topic["topic"]: len(topic["partitions"]) for topic in described if topic["error_code"] == 0
    }
    assert found == {platform.topic(name): count for name, count in declared.items()}


async def test_the_orchestrator_reaches_the_sessions_simulator(platform: Platform) -> None:
    # The simulator answers, and the orchestrator registered it (R12) at the session's URL.
    assert (await platform.simulator.http.get("/healthz")).status_code == 200
    assert platform.env["BYGGRYGG_SUBPROCESSOR_SIM_URL"] == platform.simulator.base_url
    assert platform.env["BYGGRYGG_PRIVACY_ORCHESTRATOR_PUBLIC_URL"] == platform.url(
        "privacy-orchestrator"
    )
    assert platform.orchestrator_signing_key_file is not None
    assert platform.orchestrator_signing_key_file.is_file()  # made on the orchestrator's start


async def test_courses_consumes_in_a_consumer_group_of_its_own(
    platform: Platform, kafka_bootstrap: str
) -> None:
    group = platform.env["BYGGRYGG_COURSES_CONSUMER_GROUP"]
    assert group != "courses"  # never the group of `make up`'s courses
    # courses runs two subscribers in that one group: identity's user events and its privacy
    # commands; each is a member of its own.
    deadline = time.monotonic() + 60.0
    while await _members(kafka_bootstrap, group) != 2:
        assert time.monotonic() < deadline, f"courses never joined {group}"
        await asyncio.sleep(0.5)


async def test_services_accept_identity_tokens_and_refuse_others(
    platform: Platform, platform_identity: IdentityApi
) -> None:
    async with httpx.AsyncClient(timeout=30.0) as http:
        for name in ("courses", "consent"):
            path = "/courses" if name == "courses" else "/newsletter/recipients"
            accepted = await http.get(platform.url(name) + path, headers=platform_identity.staff)
            assert accepted.status_code == 200, f"{name}: {accepted.text}"
            forged = await http.get(
                platform.url(name) + path, headers={"Authorization": "Bearer not.a.token"}
            )
            assert forged.status_code == 401, f"{name}: {forged.text}"


async def test_consent_mails_reach_the_sessions_own_mail_sink(
    platform: Platform, platform_identity: IdentityApi
) -> None:
    consent = platform.url("consent")
    async with httpx.AsyncClient(base_url=consent, timeout=30.0) as http:
        if (await http.get("/policies/current")).status_code == 404:
            published = await http.post(
                "/policies",
                headers=platform_identity.staff,
                json={
                    "version": f"h-{uuid.uuid4().hex[:8]}",
                    "effective_on": datetime.now(UTC).date().isoformat(),
                    "text": "Personvernerklæring (testsesjon).",
                },
            )
            assert published.status_code in (201, 409), published.text
        wording = (await http.get("/newsletter/wording")).json()
        email = f"sink-{uuid.uuid4().hex[:12]}@e2e.example.no"
        signup = await http.post(
            "/newsletter/subscriptions",
            json={
                "name": "Per Postkasse",
                "email": email,
                "role": "verneombud",
                "wording_sha256": wording["sha256"],
            },
        )
        assert signup.status_code == 202, signup.text

    [mail] = await MailReader(platform.mail_sink.maildir).wait_for(email)
    # Links lead to this session's consent, not to the gateway of `make up`.
    assert mail.links(f"{consent}/newsletter/confirm?token=")
    assert platform.mail_sink.maildir.is_relative_to(platform.master_key_file.parent)
