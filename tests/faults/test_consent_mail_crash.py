"""consent killed (SIGKILL) after a newsletter sign-up's confirmation mail was committed to
its mail outbox but before it could be sent: after the restart the mail arrives and its
confirmation link works (R8's double opt-in survives a crash).

Deterministic: consent's SMTP server is not there when the sign-up is answered (consent's
`BYGGRYGG_SMTP_PORT` names a port nobody listens on yet), so the mail cannot have left when
consent is killed right after the 202; the test checks it is still pending in the outbox.
Then the mail sink starts on that port and consent starts again on the same database. The
sender may send a mail twice after a crash (at least once); every copy has the same
Message-ID (the mail's id), so the test accepts one or more copies with one Message-ID.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from ..identity_client import IdentityApi
from ..mail_reader import MailReader
from ..platform_processes import (
    Platform,
    free_port,
    kill_service,
    restarted_service,
    running_mail_sink,
    running_platform,
)
from .crash_tools import eventually, scalar

pytestmark = pytest.mark.slow


@pytest_asyncio.fixture
async def late_smtp_port() -> int:
    """A port for consent's SMTP server, nobody listening on it until the test says so."""
    return free_port()


@pytest_asyncio.fixture
async def consent_platform(
    pg_admin_dsn: str, kafka_bootstrap: str, tmp_path: Path, late_smtp_port: int
) -> AsyncIterator[Platform]:
    async with running_platform(
        ["consent"],
        admin_dsn=pg_admin_dsn,
        kafka_bootstrap=kafka_bootstrap,
        workdir=tmp_path,
        extra_env={"BYGGRYGG_SMTP_PORT": str(late_smtp_port)},
    ) as running:
        yield running


async def _staff_token(platform: Platform) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=platform.url("identity"), timeout=30.0) as http:
        api = IdentityApi(
            http=http, staff_email=platform.staff_email, staff_password=platform.staff_password
        )
        await api.log_in_staff()
        return api.staff


async def _mail_status(dsn: str, email: str) -> str | None:
    """The outbox status of the mail to `email`; None once sent (a sent row keeps no address)."""
    pending = await scalar(dsn, "SELECT status FROM mail_outbox WHERE recipient = $1", email)
    return None if pending is None else str(pending)


async def _confirmation_sent(dsn: str) -> bool | None:
    sent = await scalar(
        dsn,
        "SELECT count(*) FROM mail_outbox WHERE kind = 'newsletter_confirmation' "
        "AND status = 'sent'",
    )
    return True if sent == 1 else None


async def test_a_confirmation_mail_committed_before_a_kill_is_sent_after_the_restart(
    consent_platform: Platform, late_smtp_port: int, tmp_path: Path
) -> None:
    platform = consent_platform
    dsn = platform["consent"].database_url
    email = f"krasj-{uuid.uuid4().hex[:12]}@e2e.example.no"
    staff = await _staff_token(platform)
    async with httpx.AsyncClient(base_url=platform.url("consent"), timeout=30.0) as consent:
        published = await consent.post(
            "/policies",
            headers=staff,
            json={
                "version": f"krasj-{uuid.uuid4().hex[:8]}",
                "effective_on": datetime.now(UTC).date().isoformat(),
                "text": "Personvernerklæring for ByggRygg (publisert av krasjtesten).",
            },
        )
        assert published.status_code == 201, published.text
        wording = await consent.get("/newsletter/wording")
        assert wording.status_code == 200, wording.text
        shown = wording.json()
        assert shown["sha256"] == hashlib.sha256(shown["text"].encode()).hexdigest()

        signup = await consent.post(
            "/newsletter/subscriptions",
            json={
                "name": "Åse Krasjtest",
                "email": email,
                "role": "daglig leder",
                "wording_sha256": shown["sha256"],
            },
        )
        assert signup.status_code == 202, signup.text
        await kill_service(platform["consent"])
        # Committed with the sign-up, not sent: no SMTP server was there to take it.
        assert await _mail_status(dsn, email) == "pending"

        sink_dir = tmp_path / "late-sink"
        sink_dir.mkdir()
        async with (
            running_mail_sink(sink_dir, port=late_smtp_port) as sink,
            restarted_service(platform, "consent"),
        ):
            mails = await MailReader(sink.maildir).wait_for(email, deadline_s=90.0)
            await eventually(lambda: _confirmation_sent(dsn), what="the mail is marked sent")
            copies = MailReader(sink.maildir).to(email)
            assert len({str(copy.message["Message-ID"]) for copy in copies}) == 1, (
                "copies of one mail must share its Message-ID"
            )
            [confirm_link] = mails[0].links(f"{platform.url('consent')}/newsletter/confirm?token=")
            confirmed = await consent.post(confirm_link)
            assert confirmed.status_code == 200, confirmed.text
            assert confirmed.json()["status"] == "confirmed"
            recipients = await consent.get("/newsletter/recipients", headers=staff)
            assert recipients.status_code == 200, recipients.text
            assert [row["email"] for row in recipients.json()] == [email]
