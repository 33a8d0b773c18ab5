"""What identity's events mean for the orchestrator (R2, R6): erasures to file, subjects to
know, contract ends to offer back.

- ``LicenceRevoked`` / ``SubscriptionCancelled`` (user topic): the subject's erasure is filed
  at once, approved, with an AUTOMATIC actor and the trigger's code (``file_automatic_erasure``).
- ``UserCreated`` / ``LicenceGranted`` (user topic): the subject joins its organisation's
  directory; ``UserErased``: it leaves every directory.
- ``ContractEnded`` (organisation topic): the contract end is recorded with an export offer to
  the organisation's controller (art. 28(3)(g)) for the configured number of days, and its
  contact persons (``ContactPersonAdded``, same topic) are told by mail; the retention
  scheduler (``service_layer.retention``) reminds them before the offer ends and files the
  erasures when it is over.
- ``ComplaintOpened`` (consent's complaint topic): a legal hold ``open_complaint`` on the
  categories the complaint's areas hold in other services (``COMPLAINT_HOLD_CATEGORIES``);
  ``ComplaintResolved``: the hold is released and, if the subject's latest erasure kept
  something, a follow-up erasure is filed (R16, R21). ``LegalClaimResolved`` (same topic):
  consent no longer keeps an ended customer's correspondence for a legal dispute (R2, R9), so
  every subject of the organisation whose latest erasure kept something gets a follow-up.

Each handler claims the event in the inbox in the same transaction as its effect, so a
redelivered event changes nothing (DESIGN §2).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final
from uuid import NAMESPACE_URL, UUID, uuid5

import asyncpg

from byggrygg_shared.contracts import correspondence, identity
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import ReceivedEvent
from byggrygg_shared.inbox import already_claimed, claim
from privacy_orchestrator.adapters import complaint_holds, contract_end_store, subject_directory
from privacy_orchestrator.domain.triggers import (
    ENDED_KEEPING_NOTHING,
    Trigger,
    complaint_hold_categories,
    complaint_hold_id,
    offer_until,
)
from privacy_orchestrator.service_layer import offer_notices
from privacy_orchestrator.service_layer.automatic import file_automatic_erasure
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.errors import HoldNotFound

logger = logging.getLogger(__name__)

USER_EVENTS_CONSUMER: Final = "privacy-orchestrator.identity-users"
ORGANISATION_EVENTS_CONSUMER: Final = "privacy-orchestrator.identity-organisations"
COMPLAINT_EVENTS_CONSUMER: Final = "privacy-orchestrator.consent-complaints"


@dataclass(frozen=True)
class TriggerSettings:
    """Where identity's and consent's events are read from, and how long a contract end's
    offer runs."""

    user_topic: str
    organisation_topic: str
    complaint_topic: str
    export_offer_days: int


def event_uuid(received: ReceivedEvent) -> UUID:
    """The CloudEvent id as a UUID (the platform's ids are UUIDs; any other string maps to a
    stable UUID of its own)."""
    try:
        return UUID(received.id)
    except ValueError:
        return uuid5(NAMESPACE_URL, f"cloudevent:{received.source}:{received.id}")


async def erase_on_access_ended(
    deps: Dependencies,
    event: identity.LicenceRevoked | identity.SubscriptionCancelled,
    received: ReceivedEvent,
) -> UUID | None:
    """File the subject's erasure (R6); the request's id, or None if nothing was filed (a
    redelivery, or an erasure of the subject already open)."""
    trigger = (
        Trigger.LICENCE_REVOKED
        if isinstance(event, identity.LicenceRevoked)
        else Trigger.SUBSCRIPTION_CANCELLED
    )
    async with transaction(deps.pool) as conn:
        if not await claim(conn, consumer=USER_EVENTS_CONSUMER, event_id=received.id):
            return None
        request_id = await file_automatic_erasure(
            conn,
            deps,
            subject_ref=event.subject_ref,
            organisation_id=event.organisation_id,
            trigger=trigger.value,
            trigger_id=event_uuid(received),
        )
    if request_id is not None:
        logger.info("erasure %s filed automatically (%s)", request_id, trigger.value)
    return request_id


async def list_subject(
    deps: Dependencies,
    event: identity.UserCreated | identity.LicenceGranted,
    received: ReceivedEvent,
) -> bool:
    """Add the subject to its organisation's directory, with ``UserCreated``'s e-mail token
    (R10, see ``subject_directory``); False if the event was applied."""
    async with transaction(deps.pool) as conn:
        if not await claim(conn, consumer=USER_EVENTS_CONSUMER, event_id=received.id):
            return False
        await subject_directory.list_subject(
            conn,
            organisation_id=event.organisation_id,
            subject_ref=event.subject_ref,
            email_token=event.email if isinstance(event, identity.UserCreated) else None,
            at=deps.clock(),
        )
    return True


async def list_contact(
    deps: Dependencies, event: identity.ContactPersonAdded, received: ReceivedEvent
) -> bool:
    """Keep a contact person of the organisation (with identity's token of their e-mail), to
    tell of a contract end's export offer; False if the event was applied."""
    async with transaction(deps.pool) as conn:
        if not await claim(conn, consumer=ORGANISATION_EVENTS_CONSUMER, event_id=received.id):
            return False
        await subject_directory.list_contact(
            conn,
            organisation_id=event.organisation_id,
            subject_ref=event.subject_ref,
            email_token=event.email,
            at=deps.clock(),
        )
    return True


async def correct_subject_email(
    deps: Dependencies, event: identity.UserProfileCorrected, received: ReceivedEvent
) -> bool:
    """A rectified login e-mail (R15) is where the person is told from now on; False if the
    event was applied or did not correct the e-mail."""
    async with transaction(deps.pool) as conn:
        if not await claim(conn, consumer=USER_EVENTS_CONSUMER, event_id=received.id):
            return False
        if "email" not in event.corrected_fields or event.email is None:
            return False
        return bool(await subject_directory.correct_email(conn, event.subject_ref, event.email))


async def forget_erased_subject(
    deps: Dependencies, event: identity.UserErased, received: ReceivedEvent
) -> bool:
    """Identity erased the user: the subject leaves every directory."""
    async with transaction(deps.pool) as conn:
        if not await claim(conn, consumer=USER_EVENTS_CONSUMER, event_id=received.id):
            return False
        await subject_directory.forget_subject(conn, event.subject_ref)
    return True


async def record_contract_end(
    deps: Dependencies,
    event: identity.ContractEnded,
    received: ReceivedEvent,
    *,
    offer_days: int,
) -> bool:
    """Record the contract end and open its export offer (art. 28(3)(g)), telling the
    organisation's contact persons by mail in the same transaction (``offer_notices``); False
    if the event was applied, or the organisation's contract end is already recorded."""
    async with transaction(deps.pool) as conn:
        if not await claim(conn, consumer=ORGANISATION_EVENTS_CONSUMER, event_id=received.id):
            return False
        now = deps.clock()
        until = offer_until(ended_on=event.ended_on, recorded_at=now, days=offer_days)
        recorded = await contract_end_store.record_contract_end(
            conn,
            contract_end_id=event_uuid(received),
            organisation_id=event.organisation_id,
            ended_on=event.ended_on,
            retention=list(event.retention),
            recorded_at=now,
            offer_until=until,
        )
        if recorded:
            await offer_notices.tell_contacts(
                conn,
                deps,
                organisation_id=event.organisation_id,
                ended_on=event.ended_on,
                offer_until=until,
                reminder=False,
            )
    if recorded:
        logger.info("contract end of organisation %s recorded", event.organisation_id)
    else:
        logger.warning("contract end of organisation %s already recorded", event.organisation_id)
    return recorded


# --- complaint holds (R16, R21) -------------------------------------------------------------


async def hold_for_complaint(
    deps: Dependencies, event: correspondence.ComplaintOpened, received: ReceivedEvent
) -> bool:
    """Place the complaint's legal hold (basis ``open_complaint``) on the categories its areas
    hold in other services; False if the event was applied or the areas need no hold."""
    categories = complaint_hold_categories(event.concerns)
    async with transaction(deps.pool) as conn:
        if not await claim(conn, consumer=COMPLAINT_EVENTS_CONSUMER, event_id=received.id):
            return False
        if not categories:
            return False
        return await complaint_holds.place_hold(
            conn,
            hold_id=complaint_hold_id(event.complaint_id),
            subject_ref=event.subject_ref,
            categories=categories,
            at=deps.clock(),
        )


async def release_complaint_hold(
    deps: Dependencies, event: correspondence.ComplaintResolved, received: ReceivedEvent
) -> UUID | None:
    """Release the complaint's hold and erase what the subject's last erasure kept; the
    follow-up request's id, or None."""
    async with transaction(deps.pool) as conn:
        if not await claim(conn, consumer=COMPLAINT_EVENTS_CONSUMER, event_id=received.id):
            return None
        await complaint_holds.release_hold(
            conn, complaint_hold_id(event.complaint_id), deps.clock()
        )
        request_id = await erase_what_was_kept(
            conn,
            deps,
            subject_ref=event.subject_ref,
            trigger=Trigger.COMPLAINT_RESOLVED,
            trigger_id=event_uuid(received),
        )
    if request_id is not None:
        logger.info("follow-up erasure %s filed (complaint resolved)", request_id)
    return request_id


# Subjects filed per transaction when a legal claim is resolved: a big ended customer's
# follow-ups do not make one long transaction (the same bound as the contract end's filing).
LEGAL_CLAIM_CHUNK: Final = 200


async def erase_what_a_legal_claim_kept(
    deps: Dependencies,
    event: correspondence.LegalClaimResolved,
    received: ReceivedEvent,
    *,
    chunk: int = LEGAL_CLAIM_CHUNK,
) -> list[UUID]:
    """A follow-up erasure (trigger ``legal_claim_resolved``) of every subject of the
    organisation whose latest erasure kept something; the new requests' ids. Consent
    published the event after it let go of the correspondence, so these erasures find it no
    longer held. A subject whose erasure is still open gets the trigger recorded against it
    instead (filed when it ends keeping something).

    Filed ``chunk`` subjects per transaction, and the event claimed in the inbox after the
    last: a crash midway has the event delivered again, and each subject's trigger id
    (``uuid5(event id, subject ref)``) finds what was filed before, so nobody gets two."""
    async with deps.pool.acquire() as conn:
        if await already_claimed(conn, consumer=COMPLAINT_EVENTS_CONSUMER, event_id=received.id):
            return []
        subjects = await complaint_holds.subjects_to_follow_up(conn, event.organisation_id)
    trigger_id = event_uuid(received)
    request_ids: list[UUID] = []
    for start in range(0, len(subjects), chunk):
        async with transaction(deps.pool) as conn:
            for subject_ref in subjects[start : start + chunk]:
                request_id = await file_automatic_erasure(
                    conn,
                    deps,
                    subject_ref=subject_ref,
                    organisation_id=event.organisation_id,
                    trigger=Trigger.LEGAL_CLAIM_RESOLVED.value,
                    trigger_id=uuid5(trigger_id, subject_ref),
                )
                if request_id is not None:
                    request_ids.append(request_id)
    async with transaction(deps.pool) as conn:
        await claim(conn, consumer=COMPLAINT_EVENTS_CONSUMER, event_id=received.id)
    if request_ids:
        logger.info(
            "%d follow-up erasures filed (legal claim of %s resolved)",
            len(request_ids),
            event.organisation_id,
        )
    return request_ids


async def release_hold(deps: Dependencies, hold_id: UUID) -> UUID | None:
    """Staff release a legal hold (R16): ``HoldNotFound`` if none is in force; if the
    subject's latest erasure kept something, a follow-up erasure (trigger ``hold_released``)
    in the same transaction; its id, or None."""
    async with transaction(deps.pool) as conn:
        subject_ref = await complaint_holds.release_any_hold(conn, hold_id, deps.clock())
        if subject_ref is None:
            raise HoldNotFound(hold_id)
        return await erase_what_was_kept(
            conn, deps, subject_ref=subject_ref, trigger=Trigger.HOLD_RELEASED, trigger_id=hold_id
        )


async def erase_what_was_kept(
    conn: asyncpg.Connection,
    deps: Dependencies,
    *,
    subject_ref: str,
    trigger: Trigger,
    trigger_id: UUID,
) -> UUID | None:
    """After a hold was released (a complaint resolved, R21; staff released a hold, R16): if the
    subject's latest erasure ended ``partially_completed`` (something was kept), file a
    follow-up erasure, which keeps only what holds still in force cover; if it is still open,
    the trigger is recorded against it and the follow-up filed when it ends keeping something
    (``automatic.file_follow_up_waiting_on``). In the caller's transaction; None when nothing
    is filed now."""
    latest = await complaint_holds.latest_erasure(conn, subject_ref)
    if latest is None or latest.state in ENDED_KEEPING_NOTHING:
        return None
    return await file_automatic_erasure(
        conn,
        deps,
        subject_ref=subject_ref,
        organisation_id=latest.organisation_id,
        trigger=trigger.value,
        trigger_id=trigger_id,
    )
