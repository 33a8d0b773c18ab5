"""Read what the mail sink received: the messages to one address, waiting for them to arrive.

The mail sink (deploy/local/mail_sink.py) stores each message as one file of a Maildir; this
module only reads that folder. Tests share the sink, so they find their mails by a recipient
address that is unique to the test, and wait with a generous deadline (mail is sent after a
commit, by another process) instead of sleeping a fixed time.
"""

from __future__ import annotations

import asyncio
import email.policy
import mailbox
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path

import pytest

MAIL_DEADLINE_S = 60.0
_LINK = re.compile(r"https?://[^\s<>\"')]+")


@dataclass(frozen=True)
class ReceivedMail:
    """One stored message, parsed with the modern e-mail policy (decoded headers)."""

    key: str
    message: EmailMessage

    @property
    def recipients(self) -> frozenset[str]:
        """Envelope recipients (X-RcptTo, added by the sink) and To/Cc, lower-cased."""
        headers = ("X-RcptTo", "To", "Cc")
        fields = [str(v) for name in headers for v in self.message.get_all(name, [])]
        return frozenset(address.lower() for _, address in getaddresses(fields) if address)

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def text(self) -> str:
        """The plain-text body (or the HTML one when there is no plain text)."""
        body = self.message.get_body(preferencelist=("plain", "html"))
        if body is None:
            return ""
        return str(body.get_content())

    def links(self, prefix: str = "") -> list[str]:
        """Every http(s) link in the body that starts with `prefix`, in order."""
        found = [link.rstrip(".,;") for link in _LINK.findall(self.text)]
        return [link for link in found if link.startswith(prefix)]


class MailReader:
    """The Maildir of a mail sink, read-only."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir

    def all(self) -> list[ReceivedMail]:
        if not (self.maildir / "new").is_dir():
            return []
        box = mailbox.Maildir(self.maildir, factory=None, create=False)
        parser = BytesParser(policy=email.policy.default)
        mails: list[ReceivedMail] = []
        for key in box.iterkeys():
            try:
                raw = box.get_bytes(key)
            except KeyError:  # moved or removed between listing and reading
                continue
            parsed = parser.parsebytes(raw)
            assert isinstance(parsed, EmailMessage)
            mails.append(ReceivedMail(key=key, message=parsed))
        return mails

    def to(self, address: str) -> list[ReceivedMail]:
        """Messages addressed to `address` (any recipient field), oldest file first."""
        wanted = address.lower()
        found = [mail for mail in self.all() if wanted in mail.recipients]
        # Maildir keys start with the delivery time in seconds.
        return sorted(found, key=lambda mail: mail.key)

    async def wait_for(
        self,
        address: str,
        *,
        matching: Callable[[ReceivedMail], bool] = lambda _: True,
        count: int = 1,
        deadline_s: float = MAIL_DEADLINE_S,
    ) -> list[ReceivedMail]:
        """The first `count` messages to `address` that `matching` accepts; fails the test
        after `deadline_s` with what did arrive."""
        deadline = time.monotonic() + deadline_s
        while True:
            found = [mail for mail in self.to(address) if matching(mail)]
            if len(found) >= count:
                return found[:count]
            if time.monotonic() > deadline:
                subjects = [mail.subject for mail in self.to(address)]
                pytest.fail(
                    f"{count} matching mail(s) to the test address did not arrive in "
                    f"{self.maildir} within {deadline_s}s; mails to it: {subjects}",
                    pytrace=False,
                )
            await asyncio.sleep(0.2)
