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
- an access request ended (R14): one mail says the export is ready, with the link to its
  download route (``/requests/{id}/export``, behind the person's login) and until when it
  can be downloaded, never the data; the record's notice is ``export_ready``;
- nothing was kept, or the request was rejected: nothing is sent.

While the request runs, ``notice_for_extension`` tells the person of a deadline extension
(art. 12(3): the new date and why), reading the address without using it up; the request's
history notes the mail (``PersonNotified``) and the completion record lists it.

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
from datetime import date, datetime
from typing import Final
from uuid import UUID

import asyncpg

from byggrygg_shared import mail_outbox
from byggrygg_shared.keyring import Erased, KeyRingError
from privacy_orchestrator.adapters import notice_store, request_actions
from privacy_orchestrator.domain import records
from privacy_orchestrator.domain.records import RequestKind
from privacy_orchestrator.domain.request import FINAL_STATES, DataSubjectRequest, RequestState
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.errors import KeyRingMissing
from privacy_orchestrator.service_layer.exports import export_link

logger = logging.getLogger(__name__)

NOTICE_KIND: Final = "kept_data"
MAIL_KIND: Final = "kept_data_notice"
SUBJECT: Final = "Svar på forespørselen din: noen opplysninger er beholdt"
EXTENSION_NOTICE: Final = "deadline_extended"
EXTENSION_MAIL_KIND: Final = "deadline_extension_notice"
EXTENSION_SUBJECT: Final = "Forespørselen din: vi trenger mer tid"
EXPORT_NOTICE: Final = "export_ready"
EXPORT_MAIL_KIND: Final = "export_ready_notice"
EXPORT_SUBJECT: Final = "Innsyn: opplysningene dine er klare til nedlasting"
# Why a deadline was extended (art. 12(3)), in plain words, by the extension's reason code.
_PLAIN_EXTENSION: Final = {
    "complexity": "forespørselen er sammensatt og krever mer arbeid",
    "number_of_requests": "vi har mottatt mange forespørsler samtidig",
}

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


async def open_identity_address(deps: Dependencies, subject_ref: str, token: str) -> str | None:
    """The plain address in identity's e-mail token of a person (under their own key), or
    None when it is unreadable: the key shredded, or a token the key ring refuses (logged).
    A missing address costs a mail, never the caller's work."""
    if deps.keyring is None:
        return None
    try:
        address = await deps.keyring.decrypt(subject_ref, token)
    except KeyRingError as error:
        logger.warning("an e-mail token was refused (%s): no mail to that person", error)
        return None
    return address if isinstance(address, str) else None


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
    export_ready = request.kind is RequestKind.ACCESS and request.state is not RequestState.REJECTED
    notice = None
    mail_id = None
    if kept or export_ready:
        address = await deps.keyring.decrypt(pending.key_ref, pending.address_token)
        if isinstance(address, Erased) or not isinstance(address, str):
            logger.warning("request %s: notify address unreadable, no notice sent", request.id)
        else:
            now = deps.clock()
            if kept:
                kind, subject, body = MAIL_KIND, SUBJECT, notice_text(kept)
                notice_kind = NOTICE_KIND
            else:
                expires_at = await request_actions.export_expiry(conn, request.id)
                link = export_link(deps, request.id)
                kind, subject, body = (
                    EXPORT_MAIL_KIND,
                    EXPORT_SUBJECT,
                    export_text(link, expires_at),
                )
                notice_kind = EXPORT_NOTICE
            mail_id = await mail_outbox.enqueue_mail(
                conn,
                mail_id=deps.ids.new_id(),
                now=now,
                to=address,
                subject=subject,
                body=body,
                kind=kind,
            )
            notice = records.Notice(kind=notice_kind, sent_at=now, reference=str(mail_id))
    await notice_store.end(conn, request.id, mail_id=mail_id, now=deps.clock())
    await deps.keyring.shred(pending.key_ref)
    return notice


async def notice_for_extension(
    conn: asyncpg.Connection, deps: Dependencies, request: DataSubjectRequest
) -> None:
    """In the extending transaction: tell the person the new deadline and why (art. 12(3)),
    if the request has an address; the address stays for the request's end. The request's
    history notes the mail (its id, never the address): call before saving it."""
    extension = request.extension
    if extension is None:
        return
    pending = await notice_store.take_pending(conn, request.id)
    if pending is None:
        return
    if deps.keyring is None:
        raise KeyRingMissing()
    address = await deps.keyring.decrypt(pending.key_ref, pending.address_token)
    if isinstance(address, Erased) or not isinstance(address, str):
        logger.warning("request %s: notify address unreadable, no notice sent", request.id)
        return
    now = deps.clock()
    mail_id = await mail_outbox.enqueue_mail(
        conn,
        mail_id=deps.ids.new_id(),
        now=now,
        to=address,
        subject=EXTENSION_SUBJECT,
        body=extension_text(extension.deadline, extension.reason),
        kind=EXTENSION_MAIL_KIND,
    )
    request.note_notice(EXTENSION_NOTICE, str(mail_id), now)


def extension_text(deadline: date, reason: str) -> str:
    """The mail of a deadline extension (art. 12(3)): the new date and why; nothing else."""
    why = _PLAIN_EXTENSION.get(reason, "forespørselen krever mer tid")
    return "\n".join(
        [
            "Hei,",
            "",
            "Vi har mottatt forespørselen din og arbeider med den.",
            f"Vi trenger mer tid: du får svar senest {deadline.isoformat()}.",
            f"Hvorfor: {why}.",
            "",
            "Personvernforordningen artikkel 12 nr. 3 gir oss rett til å forlenge fristen",
            "med inntil to måneder når det er nødvendig, og vi skal si fra om det.",
            "",
            "Hilsen ByggRygg personvern",
        ]
    )


def export_text(link: str, expires_at: datetime | None) -> str:
    """The mail of a ready access export (R14): where to download it and until when; the
    link leads to a page behind the person's login, the mail holds none of the data."""
    until = (
        f"Filen kan lastes ned til og med {expires_at.date().isoformat()}; deretter slettes den."
        if expires_at is not None
        else "Filen kan lastes ned en begrenset tid; deretter slettes den."
    )
    return "\n".join(
        [
            "Hei,",
            "",
            "Innsynet du ba om er klart. Logg inn og last ned opplysningene dine her:",
            link,
            "",
            until,
            "",
            "Hilsen ByggRygg personvern",
        ]
    )


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
