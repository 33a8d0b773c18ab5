"""Fixtures and helpers of the correspondence and complaint tests: a migrated database of its own
(consent tables and the key ring), the real API in process with tokens from a test issuer, and
a real SMTP server (aiosmtpd) on a free port that collects what consent sends.

Test modules import the fixtures they use by name (``from .correspondence_support import ...``).
"""

from __future__ import annotations

import asyncio
import email
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from byggrygg_shared.auth import Principal, Role, TokenIssuer, TokenVerifier
from byggrygg_shared.keyring import create_master_key_file
from byggrygg_shared.keyring_schema import migrate_keyring
from consent.bootstrap import Runtime, build_runtime, close_runtime, install
from consent.entrypoints.api import create_app
from consent.main import migrate_database
from consent.settings import ConsentSettings

STAFF = Principal(
    user_id=str(uuid.UUID(int=1)),
    subject_ref="subj_" + "5" * 32,
    organisation_id=None,
    roles=frozenset({Role.PLATFORM_STAFF}),
)


class MovableClock:
    """A clock the test can move (retention); starts at the real time."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class _Collect:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.original_content))
        return "250 OK"


@dataclass
class SmtpSink:
    host: str
    port: int
    handler: _Collect

    @property
    def messages(self) -> list[Message]:
        return self.handler.messages


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    handler = _Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield SmtpSink(controller.hostname, controller.port, handler)
    finally:
        controller.stop()


@dataclass
class Env:
    """The running service and the callers the tests use."""

    runtime: Runtime
    http: httpx.AsyncClient
    issuer: TokenIssuer
    clock: MovableClock
    smtp: SmtpSink
    headers: dict[str, str] = field(default_factory=dict)

    def token_for(self, *roles: Role, organisation_id: str | None = None) -> dict[str, str]:
        principal = Principal(
            user_id=str(uuid.uuid4()),
            subject_ref="subj_" + uuid.uuid4().hex,
            organisation_id=organisation_id,
            roles=frozenset(roles),
        )
        return {"Authorization": f"Bearer {self.issuer.issue(principal)}"}

    @property
    def staff(self) -> dict[str, str]:
        return self.headers

    async def count(self, table: str) -> int:
        value: int = await self.runtime.pool.fetchval(f"SELECT count(*) FROM {table}")
        return value

    async def send_mail(self) -> int:
        return await self.runtime.mail_sender.send_due()


@pytest.fixture
async def consent_env(
    fresh_database: str, tmp_path: Path, smtp_sink: SmtpSink
) -> AsyncIterator[Env]:
    await asyncio.to_thread(migrate_database, fresh_database)
    await migrate_keyring(fresh_database)
    master_key = tmp_path / "keyring-master.key"
    create_master_key_file(master_key)
    settings = ConsentSettings(
        consent_database_url=fresh_database,
        keyring_database_url=fresh_database,
        keyring_master_key_file=master_key,
        consent_link_key_file=tmp_path / "links.key",
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
    )
    private_key = Ed25519PrivateKey.generate()
    issuer = TokenIssuer(private_key)
    clock = MovableClock()
    runtime = await build_runtime(
        settings,
        clock=clock,
        verifier=TokenVerifier.from_public_keys([private_key.public_key()]),
    )
    app: FastAPI = create_app()
    install(app, runtime)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://consent") as http:
            env = Env(runtime=runtime, http=http, issuer=issuer, clock=clock, smtp=smtp_sink)
            env.headers = {"Authorization": f"Bearer {issuer.issue(STAFF)}"}
            yield env
    finally:
        await close_runtime(runtime)


def email_body(
    organisation_id: uuid.UUID, /, subject_ref: str | None = None, **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "organisation_id": str(organisation_id),
        "email_address": "kari.nordmann@example.no",
        "messages": [
            {
                "direction": "inbound",
                "sent_at": "2025-03-01T09:30:00+01:00",
                "subject": "Spørsmål om kurs",
                "text": "Hei!\nKan dere sende meg kursbeviset?",
            }
        ],
    }
    if subject_ref is not None:
        body["subject_ref"] = subject_ref
    body.update(changes)
    return body


def phone_body(
    organisation_id: uuid.UUID, /, subject_ref: str | None = None, **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "organisation_id": str(organisation_id),
        "phone_number": "+47 911 22 333",
        "person_name": "Kari Nordmann",
        "summary": "Ringte om innlogging.\nLøst i samtalen.",
        "contacted_at": "2025-03-02T10:00:00+01:00",
    }
    if subject_ref is not None:
        body["subject_ref"] = subject_ref
    body.update(changes)
    return body
