"""The local mail sink: a real SMTP server that keeps every message it receives in a Maildir.

`make up` starts it on 127.0.0.1:8025 (deploy/local/mailsink.sh) with the Maildir `.run/mail/`;
the consent service sends its confirmation and withdrawal mails there (R8), and tests read
them back (tests/mailbox.py). Nothing is relayed anywhere: a message ends as one file in
`<maildir>/new/`, written by the stdlib `mailbox` module (tmp file, then a rename), so a reader
never sees half a message. The envelope's recipients are added as `X-RcptTo` (and the sender
as `X-MailFrom`), because Bcc recipients appear in no header of the message itself.

    uv run --no-sync python deploy/local/mail_sink.py --host 127.0.0.1 --port 8025 \
        --maildir .run/mail
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
import mailbox
import signal
import sys
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

# Mails of a newsletter or a correspondence export are small; this only stops a runaway client.
DATA_SIZE_LIMIT = 10 * 1024 * 1024


class MaildirHandler:
    """aiosmtpd handler: every accepted message becomes one file in the Maildir."""

    def __init__(self, maildir: Path) -> None:
        self._maildir = maildir
        self._ensure_folders()
        self._box = mailbox.Maildir(maildir, create=False)
        self.received = 0

    def _ensure_folders(self) -> None:
        # Maildir(create=True) makes the subfolders only when the folder itself is new; the
        # folder may exist empty (mailsink.sh makes it) or be emptied by hand while we run.
        for sub in ("tmp", "new", "cur"):
            (self._maildir / sub).mkdir(mode=0o700, parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        if content is None:
            return "554 No message data"
        message = BytesParser(policy=email.policy.compat32).parsebytes(content)
        message["X-MailFrom"] = envelope.mail_from or ""
        message["X-RcptTo"] = ", ".join(envelope.rcpt_tos)
        try:
            self._ensure_folders()
            self._box.add(mailbox.MaildirMessage(message))
        except OSError as error:  # the client may try again later; say why in our log
            print(f"mail-sink: could not store a message: {error}", flush=True)
            return "451 Requested action aborted: local error in processing"
        self.received += 1
        # Counts only: addresses and contents are personal data and stay out of the log.
        print(f"mail-sink: stored message {self.received}", flush=True)
        return "250 Message accepted for delivery"


async def serve(host: str, port: int, maildir: Path) -> None:
    """Listen until SIGTERM or SIGINT, then close the listener and return."""
    loop = asyncio.get_running_loop()
    handler = MaildirHandler(maildir)
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="byggrygg-mail-sink",
            data_size_limit=DATA_SIZE_LIMIT,
            enable_SMTPUTF8=True,
            loop=loop,
        ),
        host=host,
        port=port,
    )
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"mail-sink: listening on {host}:{port}, Maildir {maildir}", flush=True)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        print("mail-sink: stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--maildir", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port, args.maildir.resolve()))
    except OSError as error:  # the port is taken, the folder cannot be made
        print(f"mail-sink: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
