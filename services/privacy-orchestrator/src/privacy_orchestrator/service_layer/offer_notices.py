"""Telling the controller of its export offer (art. 28(3)(g)): when a contract end is recorded,
each of the organisation's contact persons gets a mail saying until when the organisation's
data can be exported and where, and that it is erased after that; ``reminder`` before the
offer ends (when the offer is longer than that), a reminder.

Addresses: identity's token of each contact person's e-mail (``ContactPersonAdded``, under
their own key; ``subject_directory.organisation_contacts``), opened only to queue the mail in
the caller's transaction (the shared mail outbox: sent if and only if it commits). A token
the key ring refuses costs that person's mail, never the contract end. The mails name no
person and no data; the contact rows go when every erasure of the contract end is filed.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Final
from uuid import UUID

import asyncpg

from byggrygg_shared import mail_outbox
from byggrygg_shared.db import transaction
from privacy_orchestrator.adapters import contract_end_store, subject_directory
from privacy_orchestrator.service_layer import notices
from privacy_orchestrator.service_layer.context import Dependencies

logger = logging.getLogger(__name__)

OPENED_KIND: Final = "export_offer_opened"
REMINDER_KIND: Final = "export_offer_reminder"
OPENED_SUBJECT: Final = "Avtalen er avsluttet: last ned organisasjonens data"
REMINDER_SUBJECT: Final = "Påminnelse: fristen for å laste ned organisasjonens data nærmer seg"


def offer_text(*, ended_on: date, offer_until: datetime, link: str, reminder: bool) -> str:
    """The mail's plain text (Norwegian): the dates, the link, what happens after."""
    opening = "Dette er en påminnelse om at fristen snart går ut.\n\n" if reminder else ""
    return (
        "Hei,\n\n"
        f"{opening}"
        f"Avtalen mellom organisasjonen deres og ByggRygg ble avsluttet {ended_on.isoformat()}. "
        "Som behandlingsansvarlig kan dere få organisasjonens data tilbake (GDPR art. 28 "
        f"nr. 3 bokstav g) til og med {offer_until.date().isoformat()}. Eksporten bestilles "
        f"og lastes ned her, innlogget som kontaktperson:\n\n{link}\n\n"
        "Etter fristen slettes personopplysningene om organisasjonens brukere hos ByggRygg og "
        "hos våre underleverandører. Bare det loven krever at vi oppbevarer, beholdes, med "
        "grunnlaget og hvor lenge.\n\n"
        "Vennlig hilsen\nByggRygg\n"
    )


async def tell_contacts(
    conn: asyncpg.Connection,
    deps: Dependencies,
    *,
    organisation_id: UUID,
    ended_on: date,
    offer_until: datetime,
    reminder: bool,
) -> int:
    """Queue the offer's mail (or its reminder) to each contact person of the organisation,
    in the caller's transaction; how many were queued."""
    link = f"{deps.callback_base_url}/organisations/{organisation_id}/contract-end/export"
    body = offer_text(ended_on=ended_on, offer_until=offer_until, link=link, reminder=reminder)
    queued = 0
    for subject_ref, token in await subject_directory.contacts_of(conn, organisation_id):
        address = await notices.open_identity_address(deps, subject_ref, token)
        if address is None:
            continue  # the contact person was erased meanwhile, or the token refused
        await mail_outbox.enqueue_mail(
            conn,
            mail_id=deps.ids.new_id(),
            now=deps.clock(),
            to=address,
            subject=REMINDER_SUBJECT if reminder else OPENED_SUBJECT,
            body=body,
            kind=REMINDER_KIND if reminder else OPENED_KIND,
            subject_ref=subject_ref,
        )
        queued += 1
    return queued


async def remind_ending_offers(deps: Dependencies, *, ahead: timedelta) -> int:
    """Remind the contact persons of every offer ending within ``ahead`` (once per offer, in
    one transaction with marking it reminded); how many offers."""
    if ahead <= timedelta(0):
        return 0
    async with transaction(deps.pool) as conn:
        due = await contract_end_store.take_offers_to_remind(conn, now=deps.clock(), ahead=ahead)
        for offer in due:
            await tell_contacts(
                conn,
                deps,
                organisation_id=offer.organisation_id,
                ended_on=offer.ended_on,
                offer_until=offer.offer_until,
                reminder=True,
            )
    if due:
        logger.info("%d export offers: contact persons reminded", len(due))
    return len(due)
