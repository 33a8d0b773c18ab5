"""Helpers of consent's integration tests: an in-process SMTP sink, tokens, snapshots."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import asyncpg
from aiosmtpd.smtp import SMTP, Envelope, Session

from byggrygg_shared.keyring_schema import METADATA as KEYRING_METADATA
from consent.adapters.tables import METADATA

from ....service_testing import table_snapshot

DEADLINE_SECONDS = 30.0


class MailSink:
    """A real SMTP server (aiosmtpd) in the test's event loop that keeps what it receives.

    ``stop`` closes the listener (the SMTP server is "down"); ``start`` opens it again on the
    same port.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self._server: asyncio.Server | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        raw = content.encode("utf-8") if isinstance(content, str) else bytes(content or b"")
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="consent-test-sink", enable_SMTPUTF8=True, loop=loop),
            host="127.0.0.1",
            port=self.port,
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, count: int, *, deadline: float = DEADLINE_SECONDS) -> None:
        """Poll until at least ``count`` messages arrived (generous deadline, no fixed sleep)."""
        end = time.monotonic() + deadline
        while len(self.messages) < count:
            assert time.monotonic() < end, f"only {len(self.messages)} of {count} mails arrived"
            await asyncio.sleep(0.05)


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    # SMTP carries CRLF line ends; the text as written has LF.
    return str(part.get_content()).replace("\r\n", "\n")


def links_in(message: EmailMessage) -> list[str]:
    return re.findall(r"https?://\S+", body_of(message))


def relative(url: str, base: str) -> str:
    """A link from a mail as a path of the API under test."""
    assert url.startswith(base), url
    return url[len(base) :]


async def snapshot(pool: asyncpg.Pool) -> dict[str, tuple[int, str]]:
    """Row count and a digest of every consent table (events included) and of the key ring
    (in the same test database): equal snapshots before and after a request mean it wrote
    nothing."""
    return await table_snapshot(pool, [*METADATA.sorted_tables, *KEYRING_METADATA.sorted_tables])


async def poll(check: Callable[[], Any], *, deadline: float = DEADLINE_SECONDS) -> Any:
    """Call the async ``check`` until it returns something truthy."""
    end = time.monotonic() + deadline
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < end, "condition not met before the deadline"
        await asyncio.sleep(0.05)
