"""consent's effects of the privacy orchestrator's commands (R6, R10, R14, R15, R16, R21).

``ConsentPrivacy`` is consent's ``byggrygg_shared.participant.ParticipantHandler``; the shared
``Participant`` runs it in the command's transaction with the inbox claim and the reply.

What consent holds under a person's ``subject_ref``, and what each command does with it:

- **Newsletter sign-ups** (``newsletter_subscriptions.subject_ref``). Every sign-up has its own
  pseudonymous ``subject_ref`` (consent keeps no e-mail-to-ref lookup), so a command reaches a
  sign-up only when it names that ref. Erase/anonymise withdraw it as a withdrawal does
  (``ConsentWithdrawn``, method ``privacy_request``: name, e-mail and role cleared, off the send
  list), drop an unsent confirmation mail, and the sign-up's key is its ``subject_ref``: the
  shared participant shreds it (no hold), so the sealed fields of
  ``NewsletterSubscriptionRequested`` become unreadable. The consent evidence (time, policy
  version, wording, method) names only the pseudonym and stays (GDPR art. 7(1)).
- **Correspondence** (R9, R10): the R10 deletion path. Every item no hold protects is deleted
  (``CorrespondenceErased``, rows gone, the item's key scope destroyed); an item held by an
  open complaint about the person's correspondence or a legal claim (consent's own facts), or
  by a hold of the command covering a correspondence category, is kept and the evidence names
  the basis. The person's pending R10 deletion requests are then processed again, which
  completes them (and mails their final notice) when nothing is held any more.
  **Notices:** this path mails nobody itself. The command carries no address (consent has
  none for the person outside an R10 request), and the orchestrator owns the person's notice
  of what its request kept (issue 5, R10). The ids of the R10 notices consent did send the
  person are named in the kept evidence's basis, so the completion record can cite them.
- **Complaints and questions** (R21): an open complaint is kept (basis ``open_complaint``) as is
  anything a command hold on ``content`` covers; every other one is deleted from the projection
  and its key scope destroyed (summary and resolution unreadable in every copy).
- **Cookie choices and analytics** are under *visitor* refs (a hash of a session cookie id),
  never under a person's ``subject_ref``: no command reaches them, and no evidence names them.

Export returns all of the above in plain form (correspondence and complaints decrypted);
rectify corrects ``name`` and ``email`` where consent holds them in plain columns (an open
newsletter sign-up; the person's name on phone contacts, re-sealed under the item's scope).

Every step is idempotent: after a crash between the key shreds and the commit the command is
redelivered, finds the rows still there and removes them; nothing here needs a shredded key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final
from uuid import UUID

import asyncpg

from byggrygg_shared.contracts import consent as consent_contracts
from byggrygg_shared.contracts import correspondence as corr
from byggrygg_shared.contracts.privacy import (
    AnonymiseSubject,
    EraseSubject,
    Evidence,
    ExportSubject,
    Hold,
    RectifySubject,
)
from byggrygg_shared.inventory import DataCategory, EventField, Location, TableColumn
from byggrygg_shared.keyring import Erased
from byggrygg_shared.mail_outbox import cancel_unsent
from byggrygg_shared.participant import Effects, evidence_of, hold_covering, kept_evidence
from consent.adapters import correspondence_queries as queries
from consent.adapters.correspondence_codec import complaint_stream, correspondence_stream
from consent.adapters.newsletter_store import SubscriptionRepository, subscription_stream
from consent.domain.correspondence import (
    ErasureReason,
    HoldFacts,
    ItemFacts,
    KeptItem,
    plan_deletion,
)
from consent.domain.newsletter import normalise_email
from consent.privacy import INVENTORY
from consent.service_layer.context import Dependencies
from consent.service_layer.correspondence_erasure import (
    destroy_scopes,
    erase_correspondence_item,
    reprocess_pending_deletions,
)
from consent.service_layer.newsletter import CONFIRMATION_MAIL_KIND, save_and_project

WITHDRAWN_BY_PREFIX: Final = "privacy-orchestrator:"
PRIVACY_REQUEST_METHOD: Final = "privacy_request"

_NEWSLETTER_COLUMNS: Final = ("name", "email", "role")
_NEWSLETTER_FIELDS: Final = tuple(
    EventField(consent_contracts.NewsletterSubscriptionRequested.event_type, field)
    for field in _NEWSLETTER_COLUMNS
)
_ITEM_COLUMNS: Final = ("email_address", "phone_number", "person_name", "summary")
_MESSAGE_TEXT: Final = TableColumn("correspondence_messages", "message_text")
_COMPLAINT_COLUMNS: Final = ("summary", "resolution_text")
# The inventory's categories of correspondence (contact, identity, content): a command hold on
# any of them keeps the person's items whole (an item is one record of one contact).
_CORRESPONDENCE_CATEGORIES: Final = frozenset(
    {DataCategory.CONTACT.value, DataCategory.IDENTITY.value, DataCategory.CONTENT.value}
)


class ConsentPrivacy:
    """consent as a participant of data-subject requests."""

    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps

    # --- erase / anonymise ------------------------------------------------------------------

    async def erase(self, conn: asyncpg.Connection, command: EraseSubject) -> Effects:
        return await self._erase(conn, command)

    async def anonymise(self, conn: asyncpg.Connection, command: AnonymiseSubject) -> Effects:
        # consent's inventory anonymises nothing: what is not kept is erased.
        return await self._erase(conn, command)

    async def _erase(
        self, conn: asyncpg.Connection, command: EraseSubject | AnonymiseSubject
    ) -> Effects:
        subject = command.subject_ref
        await queries.lock_person(conn, subject)
        evidence = [
            *await self._erase_newsletter(conn, command),
            *await self._erase_correspondence(conn, command),
            *await self._erase_complaints(conn, command),
        ]
        # The subject's key seals only newsletter fields here (correspondence and complaints
        # have scopes of their own); with any hold it stays (contracts.privacy).
        return Effects(evidence=tuple(evidence), shred_key=not command.holds)

    async def _erase_newsletter(
        self, conn: asyncpg.Connection, command: EraseSubject | AnonymiseSubject
    ) -> list[Evidence]:
        subject = command.subject_ref
        rows = await conn.fetch(
            "SELECT subscription_id, (name IS NOT NULL) AS has_details "
            "FROM newsletter_subscriptions WHERE subject_ref = $1 ORDER BY subscription_id "
            "FOR UPDATE",
            subject,
        )
        if not rows:
            return []
        held = _newsletter_hold(command.holds)
        with_details = sum(1 for row in rows if row["has_details"])
        columns: dict[Location, int] = {
            TableColumn("newsletter_subscriptions", c): with_details
            for c in _NEWSLETTER_COLUMNS
            if with_details
        }
        fields = await _event_counts(
            conn, [subscription_stream(row["subscription_id"]) for row in rows], _NEWSLETTER_FIELDS
        )
        if held is not None:
            # Held: the sign-up stays as it is; a later command without the hold erases it.
            return [
                kept_evidence(location, count, held)
                for location, count in sorted({**columns, **fields}.items(), key=_by_name)
            ]
        repository = SubscriptionRepository(store=self._deps.store, cipher=self._deps.cipher)
        for row in rows:
            subscription = await repository.get(conn, row["subscription_id"])
            if subscription is None:  # pragma: no cover - the row came from this stream
                continue
            if subscription.withdraw(
                now=self._deps.clock(),
                method=PRIVACY_REQUEST_METHOD,
                by="staff",
                withdrawn_by=f"{WITHDRAWN_BY_PREFIX}{command.request_id}",
            ):
                await save_and_project(conn, self._deps, subscription)
        cancelled = await cancel_unsent(conn, subject_ref=subject, kind=CONFIRMATION_MAIL_KIND)
        counts: dict[Location, int] = {**columns, **fields}
        if cancelled:
            counts[TableColumn("mail_outbox", "recipient")] = cancelled
            counts[TableColumn("mail_outbox", "body")] = cancelled
        evidence = list(evidence_of(INVENTORY, counts))
        if command.holds:
            # Another category is held: the subject's key, which seals the event fields, stays.
            evidence = [
                item
                if item.action != "crypto_shredded"
                else kept_evidence(
                    item.location,
                    item.count,
                    command.holds[0],
                    "the subject's key stays while a hold lasts",
                )
                for item in evidence
            ]
        return evidence

    async def _erase_correspondence(
        self, conn: asyncpg.Connection, command: EraseSubject | AnonymiseSubject
    ) -> list[Evidence]:
        subject = command.subject_ref
        rows = await queries.items_with_holds_of_person(conn, subject)
        if not rows:
            return []
        command_hold = next(
            (
                hold
                for hold in command.holds
                if _CORRESPONDENCE_CATEGORIES.intersection(hold.categories)
            ),
            None,
        )
        plan = plan_deletion(
            [
                ItemFacts(
                    row["correspondence_id"],
                    HoldFacts(row["open_complaint"], row["legal_dispute"]),
                )
                for row in rows
            ]
        )
        to_delete = () if command_hold is not None else plan.delete
        kept_ids = [
            row["correspondence_id"] for row in rows if row["correspondence_id"] not in to_delete
        ]
        erased = await _correspondence_counts(conn, to_delete)
        kept_counts = await _correspondence_counts(conn, kept_ids)
        scopes = [
            await erase_correspondence_item(
                conn,
                self._deps,
                correspondence_id,
                reason=ErasureReason.DELETION_REQUEST,
                request_id=command.request_id,
            )
            for correspondence_id in to_delete
        ]
        if command_hold is None:
            # The person's own R10 requests: completed (final notice) once nothing is held.
            scopes += await reprocess_pending_deletions(conn, self._deps, subject)
        await destroy_scopes(self._deps, scopes)
        evidence = list(evidence_of(INVENTORY, erased)) if erased else []
        if kept_ids:
            evidence += await self._kept_correspondence(
                conn, subject, kept_counts, plan.keep, command_hold
            )
        return evidence

    async def _kept_correspondence(
        self,
        conn: asyncpg.Connection,
        subject: str,
        counts: Mapping[Location, int],
        own_holds: Sequence[KeptItem],
        command_hold: Hold | None,
    ) -> list[Evidence]:
        notices = await conn.fetch(
            "SELECT notice_id FROM correspondence_notices WHERE subject_ref = $1 "
            "ORDER BY sent_at, notice_id",
            subject,
        )
        told = (
            "; R10 notices to the person: " + ", ".join(str(row["notice_id"]) for row in notices)
            if notices
            else "; no R10 notice sent by consent (the orchestrator tells the person)"
        )
        if command_hold is not None:
            return [
                kept_evidence(location, count, command_hold, told.lstrip("; "))
                for location, count in sorted(counts.items(), key=_by_name)
            ]
        reasons = ", ".join(sorted({item.reason.value for item in own_holds}))
        return [
            Evidence(location=str(location), action="kept", count=count, basis=reasons + told)
            for location, count in sorted(counts.items(), key=_by_name)
        ]

    async def _erase_complaints(
        self, conn: asyncpg.Connection, command: EraseSubject | AnonymiseSubject
    ) -> list[Evidence]:
        rows = await conn.fetch(
            "SELECT complaint_id, kind, status, key_ref, (resolution_text IS NOT NULL) AS answered "
            "FROM complaints WHERE subject_ref = $1 ORDER BY complaint_id FOR UPDATE",
            command.subject_ref,
        )
        if not rows:
            return []
        content_hold = next(
            (hold for hold in command.holds if DataCategory.CONTENT.value in hold.categories), None
        )
        erased = [
            row
            for row in rows
            if content_hold is None and not (row["kind"] == "complaint" and row["status"] == "open")
        ]
        kept = [row for row in rows if row not in erased]
        evidence: list[Evidence] = []
        if erased:
            counts = await _complaint_counts(conn, erased)
            await conn.execute(
                "DELETE FROM complaints WHERE complaint_id = ANY($1::uuid[])",
                [row["complaint_id"] for row in erased],
            )
            await destroy_scopes(self._deps, [row["key_ref"] for row in erased])
            evidence += evidence_of(INVENTORY, counts)
        if kept:
            counts = await _complaint_counts(conn, kept)
            for location, count in sorted(counts.items(), key=_by_name):
                if content_hold is not None:
                    evidence.append(kept_evidence(location, count, content_hold))
                else:
                    evidence.append(
                        Evidence(
                            location=str(location),
                            action="kept",
                            count=count,
                            basis="open_complaint: kept until the complaint is resolved (R21)",
                        )
                    )
        return evidence

    # --- export ----------------------------------------------------------------------------

    async def export(self, conn: asyncpg.Connection, command: ExportSubject) -> Effects:
        subject = command.subject_ref
        cipher = self._deps.cipher
        counts: dict[Location, int] = {}

        async def opened(key_ref: str, token: str | None) -> str | None:
            if token is None:
                return None
            value = await cipher.decrypt(key_ref, token)
            return None if isinstance(value, Erased) else value

        subscriptions = await conn.fetch(
            "SELECT subscription_id, status, name, email, role, policy_version, wording_sha256, "
            "method, requested_at, confirmed_at, withdrawn_at, expired_at "
            "FROM newsletter_subscriptions WHERE subject_ref = $1 ORDER BY requested_at",
            subject,
        )
        for column in _NEWSLETTER_COLUMNS:
            present = sum(1 for row in subscriptions if row[column] is not None)
            if present:
                counts[TableColumn("newsletter_subscriptions", column)] = present

        items: list[dict[str, Any]] = []
        for row in await queries.list_items(conn, subject_ref=subject, organisation_id=None):
            key_ref = row["key_ref"]
            messages = [
                {
                    "direction": message["direction"],
                    "sent_at": _plain(message["sent_at"]),
                    "subject": await opened(key_ref, message["message_subject"]),
                    "text": await opened(key_ref, message["message_text"]),
                }
                for message in await queries.fetch_messages(conn, row["correspondence_id"])
            ]
            if messages:
                counts[_MESSAGE_TEXT] = counts.get(_MESSAGE_TEXT, 0) + len(messages)
            item: dict[str, Any] = {
                "correspondence_id": str(row["correspondence_id"]),
                "organisation_id": str(row["organisation_id"]),
                "channel": row["channel"],
                "contacted_at": _plain(row["contacted_at"]),
                "logged_at": _plain(row["logged_at"]),
                "retain_until": _plain(row["retain_until"]),
                "messages": messages,
            }
            for column in _ITEM_COLUMNS:
                item[column] = await opened(key_ref, row[column])
                if row[column] is not None:
                    location = TableColumn("correspondence_items", column)
                    counts[location] = counts.get(location, 0) + 1
            items.append(item)

        complaints: list[dict[str, Any]] = []
        for row in await queries.list_complaints(conn, subject_ref=subject, status=None):
            complaints.append(
                {
                    "complaint_id": str(row["complaint_id"]),
                    "kind": row["kind"],
                    "status": row["status"],
                    "outcome": row["outcome"],
                    "concerns": list(row["concerns"]),
                    "summary": await opened(row["key_ref"], row["summary"]),
                    "resolution_text": await opened(row["key_ref"], row["resolution_text"]),
                    "opened_at": _plain(row["opened_at"]),
                    "resolved_at": _plain(row["resolved_at"]),
                }
            )
            for column in _COMPLAINT_COLUMNS:
                if row[column] is not None:
                    location = TableColumn("complaints", column)
                    counts[location] = counts.get(location, 0) + 1

        part: dict[str, Any] = {
            "service": "consent",
            "subject_ref": subject,
            "newsletter_subscriptions": [
                {key: _plain(value) for key, value in row.items()} for row in subscriptions
            ],
            "correspondence": items,
            "complaints": complaints,
        }
        evidence = tuple(
            Evidence(location=str(location), action="exported", count=count)
            for location, count in sorted(counts.items(), key=_by_name)
        )
        return Effects(evidence=evidence, export=part)

    # --- rectify ---------------------------------------------------------------------------

    async def rectify(self, conn: asyncpg.Connection, command: RectifySubject) -> Effects:
        subject = command.subject_ref
        wanted = {
            name: token for name, token in command.corrections.items() if name in {"name", "email"}
        }
        if not wanted:
            return Effects(outcome="completed")  # consent holds none of these fields
        values: dict[str, str] = {}
        for field, token in wanted.items():
            value = await self._deps.cipher.decrypt(subject, token)
            if isinstance(value, Erased):
                return Effects(outcome="failed")  # the subject's key is gone
            values[field] = value
        evidence: list[Evidence] = []
        for name, value in sorted(values.items()):
            # Only open sign-ups hold the details (withdrawn and expired ones are cleared).
            stored = normalise_email(value) if name == "email" else value
            try:
                async with conn.transaction():  # a savepoint: the command's transaction goes on
                    result = await conn.execute(
                        f"UPDATE newsletter_subscriptions SET {name} = $2 "  # noqa: S608
                        "WHERE subject_ref = $1 AND status IN ('pending', 'confirmed')",
                        subject,
                        stored,
                    )
            except asyncpg.UniqueViolationError:
                # Another open sign-up has that address: one address, one sign-up (R8).
                return Effects(outcome="failed")
            changed = int(result.split()[-1])
            if changed:
                evidence.append(
                    Evidence(
                        location=str(TableColumn("newsletter_subscriptions", name)),
                        action="rectified",
                        count=changed,
                    )
                )
        if "name" in values:
            rows = await conn.fetch(
                "SELECT correspondence_id, key_ref FROM correspondence_items "
                "WHERE subject_ref = $1 AND person_name IS NOT NULL FOR UPDATE",
                subject,
            )
            for row in rows:
                await conn.execute(
                    "UPDATE correspondence_items SET person_name = $2 WHERE correspondence_id = $1",
                    row["correspondence_id"],
                    await self._deps.cipher.encrypt(row["key_ref"], values["name"]),
                )
            if rows:
                evidence.append(
                    Evidence(
                        location=str(TableColumn("correspondence_items", "person_name")),
                        action="rectified",
                        count=len(rows),
                    )
                )
        return Effects(evidence=tuple(evidence))


def _newsletter_hold(holds: Sequence[Hold]) -> Hold | None:
    for column in _NEWSLETTER_COLUMNS:
        entry = INVENTORY.personal_at(TableColumn("newsletter_subscriptions", column))
        if entry is not None and (hold := hold_covering(holds, entry)) is not None:
            return hold
    return None


def _by_name(item: tuple[Location, int]) -> str:
    return str(item[0])


async def _event_counts(
    conn: asyncpg.Connection, streams: Sequence[str], fields: Sequence[EventField]
) -> dict[Location, int]:
    """How many events of the streams carry each of ``fields``."""
    rows = await conn.fetch(
        "SELECT event_type, count(*) AS n FROM events WHERE stream_id = ANY($1::text[]) "
        "GROUP BY event_type",
        list(streams),
    )
    per_type = {row["event_type"]: int(row["n"]) for row in rows}
    return {field: per_type[field.event_type] for field in fields if field.event_type in per_type}


_CORRESPONDENCE_FIELDS: Final = tuple(
    entry.location
    for entry in INVENTORY.personal
    if isinstance(entry.location, EventField)
    and entry.location.event_type
    in {
        corr.EmailCorrespondenceLogged.event_type,
        corr.EmailMessageRecorded.event_type,
        corr.PhoneContactLogged.event_type,
    }
)
_COMPLAINT_FIELDS: Final = tuple(
    entry.location
    for entry in INVENTORY.personal
    if isinstance(entry.location, EventField)
    and entry.location.event_type
    in {
        corr.QuestionRecorded.event_type,
        corr.QuestionAnswered.event_type,
        corr.ComplaintOpened.event_type,
        corr.ComplaintResolved.event_type,
    }
)


async def _correspondence_counts(
    conn: asyncpg.Connection, ids: Sequence[UUID]
) -> dict[Location, int]:
    """Per inventory location, how many values the items hold (rows and event fields)."""
    if not ids:
        return {}
    row = await conn.fetchrow(
        "SELECT count(email_address) AS email_address, count(phone_number) AS phone_number, "
        "count(person_name) AS person_name, count(summary) AS summary "
        "FROM correspondence_items WHERE correspondence_id = ANY($1::uuid[])",
        list(ids),
    )
    counts: dict[Location, int] = {
        TableColumn("correspondence_items", column): int(row[column])
        for column in _ITEM_COLUMNS
        if row[column]
    }
    messages = await conn.fetchval(
        "SELECT count(*) FROM correspondence_messages WHERE correspondence_id = ANY($1::uuid[])",
        list(ids),
    )
    if messages:
        counts[_MESSAGE_TEXT] = int(messages)
    counts |= await _event_counts(
        conn, [correspondence_stream(i) for i in ids], _CORRESPONDENCE_FIELDS
    )
    return counts


async def _complaint_counts(
    conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]
) -> dict[Location, int]:
    counts: dict[Location, int] = {TableColumn("complaints", "summary"): len(rows)}
    answered = sum(1 for row in rows if row["answered"])
    if answered:
        counts[TableColumn("complaints", "resolution_text")] = answered
    counts |= await _event_counts(
        conn, [complaint_stream(row["complaint_id"]) for row in rows], _COMPLAINT_FIELDS
    )
    return counts


def _plain(value: object) -> object:
    if isinstance(value, UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
