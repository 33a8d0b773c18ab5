"""The transactional mail outbox on real PostgreSQL and a real SMTP server: a mail is sent if
and only if its transaction commits, survives the SMTP server being away and the sender
crashing, and keeps no address or body once sent."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from email.message import EmailMessage

import pytest

from consent.adapters.smtp import SmtpTransport
from consent.bootstrap import Runtime
from consent.service_layer.mail import MailSender, enqueue_mail

from ....service_testing import MovableClock
from .support import MailSink, body_of

ADDRESS = "kari@example.no"


async def _enqueue(runtime: Runtime, *, to: str = ADDRESS, kind: str = "test_notice") -> str:
    async with runtime.deps.unit_of_work() as conn:
        mail_id = await enqueue_mail(
            conn,
            deps=runtime.deps,
            to=to,
            subject="Hei",
            body="Dette er en test.\n",
            kind=kind,
            subject_ref="subj_" + "a" * 32,
        )
    return str(mail_id)


async def _row(runtime: Runtime, mail_id: str) -> dict[str, object]:
    row = await runtime.pool.fetchrow(
        "SELECT status, recipient, body, headers::text AS headers, attempts, kind, subject_line "
        "FROM mail_outbox WHERE mail_id = $1::uuid",
        mail_id,
    )
    assert row is not None
    return dict(row)


async def test_a_committed_mail_is_sent_and_then_minimised(
    runtime: Runtime, mail_sink: MailSink
) -> None:
    mail_id = await _enqueue(runtime)

    assert await runtime.mail_sender.send_due() == 1

    [message] = mail_sink.messages
    assert message["To"] == ADDRESS
    assert message["Subject"] == "Hei"
    assert message["Message-ID"] == f"<{mail_id}@byggrygg.no>"
    assert body_of(message) == "Dette er en test.\n"
    row = await _row(runtime, mail_id)
    assert row["status"] == "sent"
    assert row["recipient"] is None
    assert row["body"] is None
    assert row["headers"] == "{}"
    assert (row["kind"], row["subject_line"], row["attempts"]) == ("test_notice", "Hei", 1)
    # Sent once only.
    assert await runtime.mail_sender.send_due() == 0
    assert len(mail_sink.messages) == 1


async def test_a_mail_queued_in_a_rolled_back_transaction_is_never_sent(
    runtime: Runtime, mail_sink: MailSink
) -> None:
    class Abort(Exception):
        pass

    async def change_that_fails() -> None:
        async with runtime.deps.unit_of_work() as conn:
            await enqueue_mail(
                conn, deps=runtime.deps, to=ADDRESS, subject="Nei", body="x", kind="test_notice"
            )
            raise Abort

    with pytest.raises(Abort):
        await change_that_fails()

    assert await runtime.pool.fetchval("SELECT count(*) FROM mail_outbox") == 0
    assert await runtime.mail_sender.send_due() == 0
    assert mail_sink.messages == []


async def test_enqueue_refuses_header_injection(runtime: Runtime) -> None:
    from consent.service_layer.mail import InvalidMail

    with pytest.raises(InvalidMail):
        async with runtime.deps.unit_of_work() as conn:
            await enqueue_mail(
                conn,
                deps=runtime.deps,
                to="a@example.no\r\nBcc: b@example.no",
                subject="x",
                body="x",
                kind="test_notice",
            )
    assert await runtime.pool.fetchval("SELECT count(*) FROM mail_outbox") == 0


async def test_smtp_away_then_back_the_mail_is_retried_with_back_off(
    runtime: Runtime, mail_sink: MailSink, clock: MovableClock
) -> None:
    await mail_sink.stop()
    mail_id = await _enqueue(runtime)

    assert await runtime.mail_sender.send_one() is False
    row = await _row(runtime, mail_id)
    assert row["status"] == "pending"
    assert row["attempts"] == 1
    assert row["recipient"] == ADDRESS  # kept until it is sent
    # Not due again before the back-off has passed.
    assert await runtime.mail_sender.send_one() is None

    await mail_sink.start()
    assert await runtime.mail_sender.send_one() is None
    clock.advance(timedelta(minutes=2))
    assert await runtime.mail_sender.send_one() is True
    assert [m["To"] for m in mail_sink.messages] == [ADDRESS]
    assert (await _row(runtime, mail_id))["status"] == "sent"


async def test_a_sender_restarted_after_a_crash_sends_what_is_pending(
    runtime: Runtime, mail_sink: MailSink
) -> None:
    # A sender that crashes after SMTP accepted the mail, before marking it sent.
    class Crash(BaseException):
        pass

    class CrashAfterSending:
        def __init__(self, inner: SmtpTransport) -> None:
            self.inner = inner

        async def send(self, message: EmailMessage) -> None:
            await self.inner.send(message)
            raise Crash

    smtp = SmtpTransport(host="127.0.0.1", port=mail_sink.port)
    mail_id = await _enqueue(runtime)
    crashing = MailSender(
        pool=runtime.pool,
        transport=CrashAfterSending(smtp),
        sender_address="test@byggrygg.no",
        clock=runtime.deps.clock,
    )
    with pytest.raises(Crash):
        await crashing.send_due()
    assert (await _row(runtime, mail_id))["status"] == "pending"  # not lost

    # Back up: a new sender process, running as in production (woken by the poll).
    restarted = MailSender(
        pool=runtime.pool,
        transport=smtp,
        sender_address="test@byggrygg.no",
        clock=runtime.deps.clock,
        poll_interval=0.2,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(restarted.run(stop))
    try:
        await mail_sink.wait_for(2)
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    # At least once: the crashed attempt's copy and the resent one share the Message-ID.
    assert {m["Message-ID"] for m in mail_sink.messages} == {f"<{mail_id}@byggrygg.no>"}
    assert (await _row(runtime, mail_id))["status"] == "sent"


async def test_the_running_sender_is_woken_by_the_commit(
    runtime: Runtime, mail_sink: MailSink
) -> None:
    # Polling only every 10 minutes: the mail can only arrive in time through NOTIFY.
    sender = MailSender(
        pool=runtime.pool,
        transport=SmtpTransport(host="127.0.0.1", port=mail_sink.port),
        sender_address="test@byggrygg.no",
        clock=runtime.deps.clock,
        poll_interval=600.0,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        await asyncio.wait_for(sender.running.wait(), timeout=30)
        await _enqueue(runtime, to="ola@example.no")
        await mail_sink.wait_for(1)
    finally:
        stop.set()
        await task
    assert [m["To"] for m in mail_sink.messages] == ["ola@example.no"]
