"""Command handlers and queries of the correspondence log (R9): platform staff log e-mail
correspondence and phone contact against a person and an organisation, and read it back.

Only platform staff may do any of it (R9 data is the operator's, not the customer's). A person
not known to the platform gets a pseudonymous ``subject_ref`` made here; staff reuse it for
the person's later correspondence and for their deletion request (R10).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from byggrygg_shared.eventstore import ConcurrentAppend
from consent.adapters import correspondence_queries as queries
from consent.adapters.correspondence_projections import project_correspondence
from consent.adapters.correspondence_repositories import correspondence_repository
from consent.domain.correspondence import (
    Channel,
    Correspondence,
    EmailMessage,
    PhoneContact,
    retain_until,
)
from consent.service_layer.context import Actor, Dependencies
from consent.service_layer.errors import CorrespondenceNotFound, NotAllowed, VersionMismatch


@dataclass(frozen=True)
class MessageView:
    message_id: UUID
    direction: str
    sent_at: datetime
    subject: str
    text: str


@dataclass(frozen=True)
class CorrespondenceView:
    """One item as staff read it, personal fields decrypted ("[erased]" if its key is gone)."""

    correspondence_id: UUID
    organisation_id: UUID
    subject_ref: str
    channel: str
    email_address: str | None
    phone_number: str | None
    person_name: str | None
    summary: str | None
    contacted_at: datetime | None
    logged_at: datetime
    logged_by: str
    contract_ended_on: date | None
    retain_until: date | None
    version: int
    messages: tuple[MessageView, ...]


@dataclass(frozen=True)
class Logged:
    correspondence_id: UUID
    subject_ref: str


def require_staff(actor: Actor) -> None:
    """R9: correspondence is the operator's; org admins and contact persons get 403."""
    if not actor.is_staff:
        raise NotAllowed("platform staff only")


async def handle_log_email(
    *,
    deps: Dependencies,
    actor: Actor,
    organisation_id: UUID,
    subject_ref: str | None,
    email_address: str,
    messages: Sequence[EmailMessage],
) -> Logged:
    """Log an e-mail correspondence with its messages (R9)."""
    require_staff(actor)
    correspondence_id = deps.ids.new_id()
    person = subject_ref or deps.ids.new_subject_ref()
    item = Correspondence.log_email(
        correspondence_id=correspondence_id,
        organisation_id=organisation_id,
        subject_ref=person,
        key_ref=_new_key_ref(deps),
        email_address=email_address,
        messages=messages,
        logged_by=actor.user_id,
    )
    await _save_new(deps, item)
    return Logged(correspondence_id, person)


async def handle_log_phone(
    *,
    deps: Dependencies,
    actor: Actor,
    organisation_id: UUID,
    subject_ref: str | None,
    contact: PhoneContact,
) -> Logged:
    """Log a phone contact: number, the person's name and a written summary (R9)."""
    require_staff(actor)
    correspondence_id = deps.ids.new_id()
    person = subject_ref or deps.ids.new_subject_ref()
    item = Correspondence.log_phone(
        correspondence_id=correspondence_id,
        organisation_id=organisation_id,
        subject_ref=person,
        key_ref=_new_key_ref(deps),
        contact=contact,
        logged_by=actor.user_id,
    )
    await _save_new(deps, item)
    return Logged(correspondence_id, person)


async def handle_record_message(
    *,
    deps: Dependencies,
    actor: Actor,
    correspondence_id: UUID,
    message: EmailMessage,
    expected_version: int,
) -> None:
    """Add a message to an e-mail correspondence, only if it is still at ``expected_version``."""
    require_staff(actor)
    repository = correspondence_repository(deps.store, deps.cipher)
    try:
        async with deps.unit_of_work() as conn:
            item = await repository.get(conn, correspondence_id)
            if item is None or item.erased:
                raise CorrespondenceNotFound(str(correspondence_id))
            if item.version != expected_version:
                raise VersionMismatch(expected=expected_version, actual=item.version)
            item.record_message(message, recorded_by=actor.user_id)
            recorded = await repository.save(
                conn,
                item,
                aggregate_id=correspondence_id,
                metadata=deps.metadata(
                    organisation_id=item.organisation_id, subject_ref=item.subject_ref
                ),
            )
            await project_correspondence(conn, recorded)
    except ConcurrentAppend as error:
        raise VersionMismatch(
            expected=error.expected_version, actual=error.actual_version
        ) from None


async def get_correspondence(
    *, deps: Dependencies, actor: Actor, correspondence_id: UUID
) -> CorrespondenceView:
    require_staff(actor)
    async with deps.pool.acquire() as conn:
        row = await queries.fetch_item(conn, correspondence_id)
        if row is None:
            raise CorrespondenceNotFound(str(correspondence_id))
        messages = await queries.fetch_messages(conn, correspondence_id)
    return await _view(deps, row, messages)


async def list_correspondence(
    *, deps: Dependencies, actor: Actor, subject_ref: str | None, organisation_id: UUID | None
) -> list[CorrespondenceView]:
    """A person's or an organisation's correspondence (at most 500 items), messages included."""
    require_staff(actor)
    async with deps.pool.acquire() as conn:
        rows = await queries.list_items(
            conn, subject_ref=subject_ref, organisation_id=organisation_id
        )
        found = [
            (row, await queries.fetch_messages(conn, row["correspondence_id"])) for row in rows
        ]
    return [await _view(deps, row, messages) for row, messages in found]


def _new_key_ref(deps: Dependencies) -> str:
    # A key scope of its own per item (see byggrygg_shared.contracts.correspondence), in the
    # same random format as a subject_ref so the key ring treats it like any other scope.
    return deps.ids.new_subject_ref()


async def _save_new(deps: Dependencies, item: Correspondence) -> None:
    async with deps.unit_of_work() as conn:
        ended_on = await queries.contract_ended_on(conn, item.organisation_id)
        recorded = await correspondence_repository(deps.store, deps.cipher).save(
            conn,
            item,
            aggregate_id=item.id,
            metadata=deps.metadata(
                organisation_id=item.organisation_id, subject_ref=item.subject_ref
            ),
        )
        until = retain_until(
            contract_ended_on=ended_on,
            logged_on=recorded[0].stored.recorded_at.date(),
            years=deps.policy.correspondence_retention_years,
        )
        await project_correspondence(conn, recorded, retain_until=until)


async def _open(deps: Dependencies, key_ref: str, token: str | None) -> str | None:
    return None if token is None else str(await deps.cipher.decrypt(key_ref, token))


async def _view(
    deps: Dependencies, row: asyncpg.Record, messages: Sequence[asyncpg.Record]
) -> CorrespondenceView:
    key_ref: str = row["key_ref"]
    opened = [
        MessageView(
            message_id=message["message_id"],
            direction=message["direction"],
            sent_at=message["sent_at"],
            subject=str(await deps.cipher.decrypt(key_ref, message["message_subject"])),
            text=str(await deps.cipher.decrypt(key_ref, message["message_text"])),
        )
        for message in messages
    ]
    return CorrespondenceView(
        correspondence_id=row["correspondence_id"],
        organisation_id=row["organisation_id"],
        subject_ref=row["subject_ref"],
        channel=Channel(row["channel"]).value,
        email_address=await _open(deps, key_ref, row["email_address"]),
        phone_number=await _open(deps, key_ref, row["phone_number"]),
        person_name=await _open(deps, key_ref, row["person_name"]),
        summary=await _open(deps, key_ref, row["summary"]),
        contacted_at=row["contacted_at"],
        logged_at=row["logged_at"],
        logged_by=row["logged_by"],
        contract_ended_on=row["contract_ended_on"],
        retain_until=row["retain_until"],
        version=row["version"],
        messages=tuple(opened),
    )
