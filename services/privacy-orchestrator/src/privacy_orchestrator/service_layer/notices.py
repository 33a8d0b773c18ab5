"""Telling the person why data was kept (R10): the request's notify address, and the mail.

A request may name an address to be told at (``notify_email``: the person's own request,
staff's or a contact person's on their behalf). ``remember_notify_address`` seals it under a
key scope of the request's own (a random ``key_ref``; not the subject's key, which the
participants shred) in ``request_notices``, in the filing transaction.

When the request ends, ``notice_for_kept_data`` runs in the completing transaction, before the
completion record is built:

- something was kept (a participant's evidence ``kept`` with a count, e.g. consent kept
  correspondence an open complaint holds): one plain-text mail is queued in the shared mail
  outbox (sent if and only if the completion commits) saying what was kept (the participant,
  what kind of data in plain words from the evidence's location), on which basis and until
  when, never the data itself; the record's ``notices`` gets ``Notice("kept_data", queued at,
  reference = the mail's id, the id part of its Message-ID <id@byggrygg.no>``: the record
  refuses anything that looks like an address, so the domain part is left out);
- nothing was kept, or the request was rejected: nothing is sent.

Either way the address is cleared and the request's key scope destroyed, before the commit
(as participants shred: a crash in between leaves the scope destroyed and the completion not
recorded; the retried completion then finds the address unreadable, logs it and sends
nothing, the one case where a wanted notice is lost). The mail itself holds the address only
until it is sent (``byggrygg_shared.mail_outbox``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final
from uuid import UUID

import asyncpg

from byggrygg_shared import mail_outbox
from byggrygg_shared.keyring import Erased
from privacy_orchestrator.adapters import notice_store
from privacy_orchestrator.domain import records
from privacy_orchestrator.domain.request import FINAL_STATES, DataSubjectRequest
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.errors import KeyRingMissing

logger = logging.getLogger(__name__)

NOTICE_KIND: Final = "kept_data"
MAIL_KIND: Final = "kept_data_notice"
SUBJECT: Final = "Svar på forespørselen din: noen opplysninger er beholdt"

# What kind of data a location holds, in plain words, by the table or event it names.
_PLAIN_DATA: Final = {
    "correspondence_items": "e-post og telefonsamtaler med oss (korrespondanse)",
    "correspondence_messages": "meldinger i korrespondanse med oss",
    "EmailCorrespondenceLogged": "e-post og telefonsamtaler med oss (korrespondanse)",
    "EmailMessageRecorded": "meldinger i korrespondanse med oss",
    "PhoneContactLogged": "e-post og telefonsamtaler med oss (korrespondanse)",
    "complaints": "spørsmål og klager du har sendt oss",
    "ComplaintOpened": "spørsmål og klager du har sendt oss",
    "QuestionRecorded": "spørsmål og klager du har sendt oss",
    "consents": "samtykkene dine",
    "newsletter_subscriptions": "påmelding til nyhetsbrev",
    "users": "brukerkontoen din",
    "UserCreated": "brukerkontoen din",
    "enrolments": "kurs du har tatt",
    "certificates": "kursbevis",
}
_PLAIN_PARTICIPANT: Final = {
    "identity": "brukerkontoer",
    "courses": "kurs",
    "consent": "samtykker og korrespondanse",
    "reporting": "rapporter",
}
# Why, in plain words, by the basis code the evidence starts with.
_PLAIN_BASIS: Final = {
    "open_complaint": "du har en klage hos oss som ikke er ferdig behandlet",
    "legal_dispute": "opplysningene trengs i en rettslig tvist",
    "outstanding_debt": "det er et utestående beløp som ikke er gjort opp",
    "bookkeeping": "bokføringsloven krever at regnskapsopplysninger oppbevares",
}
_LOCATION: Final = re.compile(r"^(?:table|column|event field|event)\s+(\S+)")
_BASIS_CODE: Final = re.compile(r"^[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class KeptItem:
    """One thing a participant kept, as the person is told about it."""

    participant: str
    location: str
    basis: str
    keep_until: date | None


async def remember_notify_address(
    conn: asyncpg.Connection, deps: Dependencies, *, request_id: UUID, address: str
) -> None:
    """Keep where to tell the person (R10), sealed under a new key scope of the request's
    own, in the filing transaction (``conn``)."""
    if deps.keyring is None:
        raise KeyRingMissing()
    key_ref = deps.ids.new_subject_ref()
    token = await deps.keyring.encrypt(key_ref, address)
    await notice_store.remember(
        conn, request_id=request_id, key_ref=key_ref, address_token=token, now=deps.clock()
    )


async def notice_for_kept_data(
    conn: asyncpg.Connection, deps: Dependencies, request: DataSubjectRequest
) -> records.Notice | None:
    """At the end of ``request``, in its completing (or rejecting) transaction: queue the
    kept-data mail if something was kept and an address is known; the record's notice, or
    None when nothing was sent. The address and its key scope are gone afterwards."""
    if request.state not in FINAL_STATES:
        return None
    pending = await notice_store.take_pending(conn, request.id)
    if pending is None:
        return None
    if deps.keyring is None:
        raise KeyRingMissing()
    kept = kept_items(request)
    notice = None
    mail_id = None
    if kept:
        address = await deps.keyring.decrypt(pending.key_ref, pending.address_token)
        if isinstance(address, Erased) or not isinstance(address, str):
            logger.warning("request %s: notify address unreadable, no notice sent", request.id)
        else:
            now = deps.clock()
            mail_id = await mail_outbox.enqueue_mail(
                conn,
                mail_id=deps.ids.new_id(),
                now=now,
                to=address,
                subject=SUBJECT,
                body=notice_text(kept),
                kind=MAIL_KIND,
            )
            notice = records.Notice(kind=NOTICE_KIND, sent_at=now, reference=str(mail_id))
    await notice_store.end(conn, request.id, mail_id=mail_id, now=deps.clock())
    await deps.keyring.shred(pending.key_ref)
    return notice


def kept_items(request: DataSubjectRequest) -> list[KeptItem]:
    """What the participants kept (evidence ``kept`` with a count), as the record lists it."""
    return [
        KeptItem(
            participant=name,
            location=item.location,
            basis=item.basis or "unspecified",
            keep_until=item.keep_until,
        )
        for name in sorted(request.replies)
        for item in request.replies[name].evidence
        if item.action == "kept" and item.count > 0
    ]


def plain_data(location: str) -> str:
    """What kind of data a location (``column t.c``, ``event field no.byggrygg.x.Event.f``)
    holds, in words: by its table or event name."""
    match = _LOCATION.match(location)
    names = match.group(1).split(".")[:-1] if match else []
    for name in reversed(names):
        if name in _PLAIN_DATA:
            return _PLAIN_DATA[name]
    return "andre opplysninger om deg"


def plain_basis(basis: str) -> tuple[str, str]:
    """The basis code and why, in words."""
    match = _BASIS_CODE.match(basis)
    code = match.group(0) if match else basis
    return code, _PLAIN_BASIS.get(code, "vi har plikt eller rett til å beholde dem en tid")


def notice_text(kept: Sequence[KeptItem]) -> str:
    """The mail to the person (R10): what was kept, why and until when; never the data."""
    lines = [
        "Hei,",
        "",
        "Vi har behandlet forespørselen din om sletting av opplysningene dine.",
        "Det meste er slettet, men dette har vi foreløpig beholdt:",
        "",
    ]
    seen: set[tuple[str, str, str, date | None]] = set()
    for item in kept:
        what = plain_data(item.location)
        code, why = plain_basis(item.basis)
        key = (item.participant, what, code, item.keep_until)
        if key in seen:
            continue
        seen.add(key)
        until = (
            f"til og med {item.keep_until.isoformat()}"
            if item.keep_until is not None
            else "til grunnlaget faller bort"
        )
        where = _PLAIN_PARTICIPANT.get(item.participant, item.participant)
        lines += [
            f"- {what} (tjenesten for {where})",
            f"  Hvorfor: {why} (grunnlag: {code}).",
            f"  Hvor lenge: {until}.",
        ]
    lines += [
        "",
        "Når grunnlaget faller bort, sletter vi også dette.",
        "",
        "Hilsen ByggRygg personvern",
    ]
    return "\n".join(lines)
