"""Fixtures of the orchestrator's integration tests: a migrated database of its own per test,
a signing key file in the test's folder, the real API in process with tokens signed by a test
key (the verifier knows its public half, as it would from identity's JWKS).

Root fixtures used: ``fresh_database``, ``kafka_bootstrap``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from byggrygg_shared.auth import Principal, Role, TokenIssuer, TokenVerifier
from privacy_orchestrator.bootstrap import Runtime, build_runtime, close_runtime, install
from privacy_orchestrator.domain.records import (
    Actor,
    ActorRole,
    Evidence,
    EvidenceAction,
    Outcome,
    ParticipantReport,
    RecordContent,
    RequestKind,
)
from privacy_orchestrator.entrypoints.api import create_app
from privacy_orchestrator.main import migrate_database
from privacy_orchestrator.settings import OrchestratorSettings

from ....service_testing import asgi_client, migrated_database


def record_content(**changes: Any) -> RecordContent:
    """A completed erasure with one participant's evidence (no personal data)."""
    at = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    values: dict[str, Any] = {
        "request_id": uuid4(),
        "kind": RequestKind.ERASURE,
        "received_at": at,
        "deadline": date(2026, 12, 2),
        "requested_by": Actor(ActorRole.AUTOMATIC, at=at, trigger="LicenceRevoked"),
        "participants": (
            ParticipantReport(
                participant="identity",
                command="erase",
                outcome=Outcome.COMPLETED,
                sent_at=at,
                replied_at=at + timedelta(seconds=1),
                evidence=(Evidence("table users.email", EvidenceAction.ERASED, 1),),
            ),
        ),
        "outcome": Outcome.COMPLETED,
        "completed_at": at + timedelta(seconds=2),
    }
    values.update(changes)
    return RecordContent(**values)


@pytest.fixture
def make_content() -> Callable[..., RecordContent]:
    return record_content


@pytest.fixture
async def orchestrator_dsn(fresh_database: str) -> str:
    return await migrated_database(fresh_database, migrate_database)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def idle_identity_topics(kafka_bootstrap: str) -> AsyncIterator[tuple[str, str, str]]:
    """Identity's user and organisation topics and consent's complaint topic for the tests
    that do not exercise the automatic triggers: created once per test session and never
    written to, so their subscribers read nothing of the shared cluster's topics
    (test_triggers.py makes topics of its own and writes to them)."""
    names = [
        f"po-idle-{kind}.{uuid4().hex[:12]}"
        for kind in ("identity-user", "identity-organisation", "consent-complaint")
    ]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1) for name in names])
        deadline = time.monotonic() + 30.0
        while not all([await _has_leader(admin, name) for name in names]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {names} have no leader")
            await asyncio.sleep(0.1)
        yield names[0], names[1], names[2]
    finally:
        try:
            await admin.delete_topics(names)
        finally:
            await admin.close()


async def _has_leader(admin: AIOKafkaAdminClient, name: str) -> bool:
    described = await admin.describe_topics([name])
    return any(
        topic["topic"] == name
        and topic["error_code"] == 0
        and all(partition["leader"] >= 0 for partition in topic["partitions"])
        for topic in described
    )


@pytest.fixture
def settings(
    orchestrator_dsn: str, tmp_path: Path, idle_identity_topics: tuple[str, str, str]
) -> OrchestratorSettings:
    user_topic, organisation_topic, complaint_topic = idle_identity_topics
    return OrchestratorSettings(
        privacy_orchestrator_database_url=orchestrator_dsn,
        keyring_database_url=orchestrator_dsn,
        privacy_orchestrator_signing_key_file=tmp_path / "secrets" / "orchestrator-ed25519.pem",
        privacy_orchestrator_user_topic=user_topic,
        privacy_orchestrator_organisation_topic=organisation_topic,
        privacy_orchestrator_complaint_topic=complaint_topic,
    )


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(Ed25519PrivateKey.generate())


@pytest.fixture
async def runtime(settings: OrchestratorSettings, issuer: TokenIssuer) -> AsyncIterator[Runtime]:
    verifier = TokenVerifier.from_public_keys([issuer.public_key])
    # the tests' replies come from these three; reporting is installed too
    # (so installed_participants() names it), and its replies are tested on its own.
    runtime = await build_runtime(
        settings, verifier=verifier, participants=("identity", "courses", "consent")
    )
    try:
        yield runtime
    finally:
        await close_runtime(runtime)


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    app = create_app()
    install(app, runtime)
    return app


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, "privacy-orchestrator") as client:
        yield client


@pytest.fixture
def token_for(issuer: TokenIssuer) -> Callable[..., dict[str, str]]:
    def headers(*roles: Role) -> dict[str, str]:
        principal = Principal(
            user_id=str(uuid4()),
            subject_ref="subj_" + uuid4().hex,
            organisation_id=None,
            roles=frozenset(roles),
        )
        return {"Authorization": f"Bearer {issuer.issue(principal)}"}

    return headers


@pytest.fixture
def headers(issuer: TokenIssuer) -> Callable[[Principal], dict[str, str]]:
    """The Authorization header for a principal, with a token of the test's issuer."""

    def make(principal: Principal) -> dict[str, str]:
        return {"Authorization": f"Bearer {issuer.issue(principal)}"}

    return make
