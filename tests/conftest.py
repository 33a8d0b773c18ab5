"""Fixtures of the cross-service tests (tests/e2e, tests/security, tests/infra).

- ``identity_service`` / ``identity``: the real identity process alone (identity's tests).
- ``platform``: identity, courses, consent and the privacy orchestrator (with the HeiHallo
  simulator) as real processes on state and Kafka topics of this session
  (tests/platform_processes.py), with their own mail sink; ``platform_identity``: an identity
  client of that platform, logged in as its platform-staff account.
- ``platform_gateway``: the nginx gateway of deploy/nginx in front of ``platform``'s services
  (tests/gateway_process.py): its base URL, `/api/<service>/` routed to this session.
- ``mail_sink``: the mail sink of `make up` (BYGGRYGG_SMTP_HOST/PORT, BYGGRYGG_MAIL_DIR).

Root fixtures used: ``pg_admin_dsn``, ``kafka_bootstrap`` (/work/main/conftest.py).
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from .gateway_process import running_gateway
from .identity_client import IdentityApi
from .identity_process import IdentityProcess, running_identity
from .platform_processes import ROOT, MailSink, Platform, running_platform


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def identity_service(
    pg_admin_dsn: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[IdentityProcess]:
    """`identity serve` as a child process, on databases and secrets of this session only."""
    async with running_identity(
        admin_dsn=pg_admin_dsn,
        kafka_bootstrap=kafka_bootstrap,
        workdir=tmp_path_factory.mktemp("identity"),
    ) as service:
        yield service


@pytest_asyncio.fixture(loop_scope="session")
async def identity(identity_service: IdentityProcess) -> AsyncIterator[IdentityApi]:
    """A client of the running identity service, logged in as its platform staff account."""
    async with httpx.AsyncClient(base_url=identity_service.base_url, timeout=30.0) as http:
        api = IdentityApi(
            http=http,
            staff_email=identity_service.staff_email,
            staff_password=identity_service.staff_password,
        )
        await api.log_in_staff()
        yield api


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def platform(
    pg_admin_dsn: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """identity, courses, consent and the privacy orchestrator (+ HeiHallo's simulator) serving,
    on databases, secrets, a mail sink and Kafka topics of this session only."""
    async with running_platform(
        ["courses", "consent", "privacy-orchestrator"],
        admin_dsn=pg_admin_dsn,
        kafka_bootstrap=kafka_bootstrap,
        workdir=tmp_path_factory.mktemp("platform"),
    ) as running:
        yield running


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def platform_gateway(
    platform: Platform, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """nginx (deploy/nginx's templates) routing /api/<service>/ to the session's services."""
    async with running_gateway(platform, tmp_path_factory.mktemp("gateway")) as base_url:
        yield base_url


@pytest_asyncio.fixture(loop_scope="session")
async def platform_identity(platform: Platform) -> AsyncIterator[IdentityApi]:
    """A client of the platform's identity, logged in as its platform-staff account."""
    async with httpx.AsyncClient(base_url=platform.url("identity"), timeout=30.0) as http:
        api = IdentityApi(
            http=http, staff_email=platform.staff_email, staff_password=platform.staff_password
        )
        await api.log_in_staff()
        yield api


@pytest.fixture(scope="session")
def mail_sink() -> MailSink:
    """The mail sink `make up` started; fails (never skips) with "run make up" when it is not
    listening."""
    host = os.environ.get("BYGGRYGG_SMTP_HOST", "127.0.0.1")
    port = int(os.environ.get("BYGGRYGG_SMTP_PORT", "8025"))
    maildir = Path(os.environ.get("BYGGRYGG_MAIL_DIR", str(ROOT / ".run" / "mail")))
    try:
        with socket.create_connection((host, port), timeout=3):
            pass
    except OSError:
        pytest.fail(
            f"the mail sink is not listening on {host}:{port}: run `make up` "
            "(or `bash deploy/local/mailsink.sh start`)",
            pytrace=False,
        )
    return MailSink(host=host, port=port, maildir=maildir)
