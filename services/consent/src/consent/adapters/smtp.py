"""Hands mail to an SMTP server with aiosmtplib (one connection per mail: mail is rare)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib


class SmtpTransport:
    """Sends each message to ``host:port``; raises ``aiosmtplib.SMTPException`` or ``OSError``
    when the server is away or refuses it (the sender retries)."""

    def __init__(self, *, host: str, port: int, timeout: float = 10.0) -> None:
        self._host = host
        self._port = port
        self._timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(message, hostname=self._host, port=self._port, timeout=self._timeout)

    async def check(self) -> None:
        """Whether the server answers (for diagnostics, not readiness: mail is queued)."""
        client = aiosmtplib.SMTP(hostname=self._host, port=self._port, timeout=self._timeout)
        await client.connect()
        await client.quit()
