"""The local mail sink of `make up` receives real SMTP and keeps each message where tests read it.

Sends through the running sink (BYGGRYGG_SMTP_HOST/PORT from .run/env) with the same client the
consent service uses (aiosmtplib), then finds the message in the Maildir (BYGGRYGG_MAIL_DIR) by
its unique recipient, decoded: UTF-8 subject and body, links, Bcc recipients.
"""

from __future__ import annotations

import uuid
from email.message import EmailMessage

import aiosmtplib

from ..mail_reader import MailReader
from ..platform_processes import MailSink


def _unique_address(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:12]}@e2e.example.no"


async def _send(sink: MailSink, message: EmailMessage) -> None:
    await aiosmtplib.send(message, hostname=sink.host, port=sink.port, timeout=30)


async def test_a_sent_message_lands_in_the_maildir_decoded(mail_sink: MailSink) -> None:
    to = _unique_address("mottaker")
    link = f"http://127.0.0.1:8080/api/consent/newsletter/confirm?token={uuid.uuid4().hex}"
    message = EmailMessage()
    message["From"] = "ByggRygg <no-reply@byggrygg.example>"
    message["To"] = to
    message["Subject"] = "Bekreft påmeldingen din: nyhetsbrev æøå"
    message.set_content(f"Hei Åse!\n\nTrykk her for å bekrefte:\n{link}\n")

    await _send(mail_sink, message)

    reader = MailReader(mail_sink.maildir)
    [received] = await reader.wait_for(to)
    assert received.subject == "Bekreft påmeldingen din: nyhetsbrev æøå"
    assert "Hei Åse!" in received.text
    assert received.links("http://127.0.0.1:8080/api/consent/") == [link]
    assert received.message["X-MailFrom"] == "no-reply@byggrygg.example"
    # Only this test's address: another recipient's mail is never returned.
    assert reader.to(_unique_address("nobody")) == []


async def test_envelope_recipients_are_kept_even_when_no_header_names_them(
    mail_sink: MailSink,
) -> None:
    visible, hidden = _unique_address("synlig"), _unique_address("blindkopi")
    message = EmailMessage()
    message["From"] = "no-reply@byggrygg.example"
    message["To"] = visible
    message["Subject"] = "Kopi"
    message.set_content("Innhold")

    await aiosmtplib.send(
        message,
        hostname=mail_sink.host,
        port=mail_sink.port,
        recipients=[visible, hidden],
        timeout=30,
    )

    reader = MailReader(mail_sink.maildir)
    [to_hidden] = await reader.wait_for(hidden)
    assert hidden not in str(to_hidden.message["To"])
    [to_visible] = await reader.wait_for(visible)
    assert to_visible.key == to_hidden.key  # one message, two envelope recipients
