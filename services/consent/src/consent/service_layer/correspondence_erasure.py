"""Deleting correspondence: a person's request (R10) and the end of retention (R9).

Deleting an item = ``CorrespondenceErased`` appended, its projection rows deleted, and its key
scope destroyed in the key ring, which makes every copy of its personal fields unreadable (the
event store, Kafka, backups). An item under a hold is kept instead, with the reason: an open
complaint about the person's correspondence (R21) or a legal claim (the organisation's
contract ended with a legal dispute, R2).

Order of the two databases: the key scopes are destroyed inside the consent transaction, just
before it commits. If the commit then fails, the items are unreadable but still listed; a
retry finds them again and records their deletion (``shred`` is idempotent). The reverse order
could commit "deleted" while the key still works, which is the failure we must not have.

The person is told by e-mail, queued in the same transaction (the mail outbox), whenever what
is kept changes (R10); the notice record holds who, when, how many and why, not the text.
A pending request is processed again when a complaint of the person is resolved
(``reprocess_pending_deletions``, called by the complaint handler in its transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from consent.adapters import correspondence_queries as queries
from consent.adapters.correspondence_projections import project_correspondence, project_deletion
from consent.adapters.correspondence_repositories import (
    correspondence_repository,
    deletion_repository,
)
from consent.domain.correspondence import (
    ErasureReason,
    HoldFacts,
    ItemFacts,
    KeptItem,
    KeptReason,
    kept_reason,
    plan_deletion,
)
from consent.domain.correspondence_deletion import CorrespondenceDeletion, DeletionStatus
from consent.service_layer.context import Actor, Dependencies, KeyShredder
from consent.service_layer.correspondence import require_staff
from consent.service_layer.errors import DeletionRequestNotFound, ErasureUnavailable
from consent.service_layer.mail import enqueue_mail

NOTICE_KIND = "correspondence_deletion_notice"
NOTICE_SUBJECT = "Din forespørsel om sletting av korrespondanse"

_REASON_TEXT = {
    KeptReason.OPEN_COMPLAINT: (
        "en klage fra deg er under behandling, og korrespondansen trengs for å behandle den "
        "(den slettes når klagen er avgjort)"
    ),
    KeptReason.LEGAL_CLAIM: (
        "et rettskrav knyttet til avtalen med organisasjonen din er under behandling, og "
        "korrespondansen kan trengs som dokumentasjon (den slettes når saken er avsluttet)"
    ),
}


@dataclass(frozen=True)
class NoticeView:
    notice_id: UUID
    subject_ref: str
    kept_count: int
    reasons: tuple[str, ...]
    sent_at: datetime


@dataclass(frozen=True)
class DeletionView:
    request_id: UUID
    subject_ref: str
    status: str
    deleted_count: int
    kept_count: int
    kept: tuple[KeptItem, ...]
    notices: tuple[NoticeView, ...]
    requested_at: datetime
    requested_by: str
    processed_at: datetime | None
    version: int


@dataclass(frozen=True)
class ExpiredItem:
    """An item whose R9 retention ended; ``kept_reason`` says why it may not go yet."""

    correspondence_id: UUID
    subject_ref: str
    organisation_id: UUID
    retain_until: date
    kept_reason: KeptReason | None


@dataclass(frozen=True)
class PurgeReport:
    erased: tuple[UUID, ...]
    kept: tuple[KeptItem, ...]


async def handle_request_deletion(
    *, deps: Dependencies, actor: Actor, subject_ref: str, notify_address: str
) -> UUID:
    """Record a person's request to delete all their correspondence (R10) and process it."""
    require_staff(actor)
    shredder = _shredder(deps)
    request_id = deps.ids.new_id()
    deletion = CorrespondenceDeletion.request(
        request_id=request_id,
        subject_ref=subject_ref,
        key_ref=deps.ids.new_subject_ref(),
        notify_address=notify_address,
        requested_by=actor.user_id,
    )
    async with deps.unit_of_work() as conn:
        await queries.lock_person(conn, subject_ref)
        scopes = await _process(conn, deps, deletion)
        await _destroy(shredder, scopes)
    return request_id


async def reprocess_pending_deletions(
    conn: asyncpg.Connection, deps: Dependencies, subject_ref: str
) -> list[str]:
    """Process the person's pending requests again (a hold was released), in the caller's
    transaction; returns the key scopes the caller must destroy before it commits."""
    scopes: list[str] = []
    repository = deletion_repository(deps.store, deps.cipher)
    for request_id in await queries.pending_deletions_of(conn, subject_ref):
        deletion = await repository.get(conn, request_id)
        if deletion is not None and deletion.status is DeletionStatus.PENDING:
            scopes += await _process(conn, deps, deletion)
    return scopes


async def destroy_scopes(deps: Dependencies, scopes: Sequence[str]) -> None:
    """Destroy key scopes (before the caller's transaction commits; see the module doc)."""
    if scopes:
        await _destroy(_shredder(deps), scopes)


async def get_deletion(*, deps: Dependencies, actor: Actor, request_id: UUID) -> DeletionView:
    require_staff(actor)
    async with deps.pool.acquire() as conn:
        row = await queries.fetch_deletion(conn, request_id)
        if row is None:
            raise DeletionRequestNotFound(str(request_id))
        kept = await queries.fetch_kept(conn, request_id)
        notices = await queries.fetch_notices(conn, request_id)
    return DeletionView(
        request_id=row["request_id"],
        subject_ref=row["subject_ref"],
        status=row["status"],
        deleted_count=row["deleted_count"],
        kept_count=row["kept_count"],
        kept=tuple(KeptItem(k["correspondence_id"], KeptReason(k["reason"])) for k in kept),
        notices=tuple(
            NoticeView(
                notice_id=n["notice_id"],
                subject_ref=n["subject_ref"],
                kept_count=n["kept_count"],
                reasons=tuple(n["reasons"]),
                sent_at=n["sent_at"],
            )
            for n in notices
        ),
        requested_at=row["requested_at"],
        requested_by=row["requested_by"],
        processed_at=row["processed_at"],
        version=row["version"],
    )


# --- retention (R9): for the privacy orchestrator's retention scheduler (issue 5) ----------


async def list_expired_correspondence(*, deps: Dependencies, today: date) -> list[ExpiredItem]:
    """Items whose retention ended before ``today``, each with the hold that keeps it, if any."""
    async with deps.pool.acquire() as conn:
        rows = await queries.expired_items_with_holds(conn, today)
    return [_expired(row) for row in rows]


async def purge_expired_correspondence(*, deps: Dependencies, today: date) -> PurgeReport:
    """Delete every item whose retention ended before ``today`` unless a hold keeps it (R9).

    One transaction per item, under the person's lock, re-checking expiry and holds inside it;
    safe to run again (deleted items are gone, kept ones are reported again).
    """
    shredder = _shredder(deps)
    erased: list[UUID] = []
    kept: list[KeptItem] = []
    for candidate in await list_expired_correspondence(deps=deps, today=today):
        async with deps.unit_of_work() as conn:
            await queries.lock_person(conn, candidate.subject_ref)
            rows = await queries.expired_items_with_holds(conn, today)
            current = next(
                (
                    _expired(r)
                    for r in rows
                    if r["correspondence_id"] == candidate.correspondence_id
                ),
                None,
            )
            if current is None:
                continue
            if current.kept_reason is not None:
                kept.append(KeptItem(current.correspondence_id, current.kept_reason))
                continue
            key_ref = await _erase_item(
                conn,
                deps,
                current.correspondence_id,
                reason=ErasureReason.RETENTION_EXPIRED,
                request_id=None,
            )
            await _destroy(shredder, [key_ref])
            erased.append(current.correspondence_id)
    return PurgeReport(erased=tuple(erased), kept=tuple(kept))


# --- the mechanics ------------------------------------------------------------------------


def _expired(row: asyncpg.Record) -> ExpiredItem:
    return ExpiredItem(
        correspondence_id=row["correspondence_id"],
        subject_ref=row["subject_ref"],
        organisation_id=row["organisation_id"],
        retain_until=row["retain_until"],
        kept_reason=kept_reason(HoldFacts(row["open_complaint"], row["legal_dispute"])),
    )


async def _process(
    conn: asyncpg.Connection, deps: Dependencies, deletion: CorrespondenceDeletion
) -> list[str]:
    """One processing round of a request; returns the key scopes to destroy."""
    rows = await queries.items_with_holds_of_person(conn, deletion.subject_ref)
    plan = plan_deletion(
        [
            ItemFacts(
                row["correspondence_id"], HoldFacts(row["open_complaint"], row["legal_dispute"])
            )
            for row in rows
        ]
    )
    scopes = [
        await _erase_item(
            conn,
            deps,
            correspondence_id,
            reason=ErasureReason.DELETION_REQUEST,
            request_id=deletion.id,
        )
        for correspondence_id in plan.delete
    ]
    notice_id = None
    if deletion.needs_notice(plan.keep):
        notice_id = await enqueue_mail(
            conn,
            deps=deps,
            to=deletion.notify_address,
            subject=NOTICE_SUBJECT,
            body=notice_text(deleted=deletion.deleted_total + len(plan.delete), kept=plan.keep),
            kind=NOTICE_KIND,
            subject_ref=deletion.subject_ref,
        )
    deletion.record_processing(deleted=len(plan.delete), kept=plan.keep, notice_id=notice_id)
    recorded = await deletion_repository(deps.store, deps.cipher).save(
        conn,
        deletion,
        aggregate_id=deletion.id,
        metadata=deps.metadata(subject_ref=deletion.subject_ref),
    )
    await project_deletion(conn, recorded)
    if deletion.status is DeletionStatus.COMPLETED:
        # Nothing more to tell the person: the address they gave is no longer needed.
        scopes.append(deletion.key_ref)
    return scopes


async def erase_correspondence_item(
    conn: asyncpg.Connection,
    deps: Dependencies,
    correspondence_id: UUID,
    *,
    reason: ErasureReason,
    request_id: UUID | None,
) -> str:
    """Delete one item in the caller's transaction (the privacy orchestrator's erasure, R6);
    returns its key scope, which the caller destroys before it commits (``destroy_scopes``)."""
    return await _erase_item(conn, deps, correspondence_id, reason=reason, request_id=request_id)


async def _erase_item(
    conn: asyncpg.Connection,
    deps: Dependencies,
    correspondence_id: UUID,
    *,
    reason: ErasureReason,
    request_id: UUID | None,
) -> str:
    """Record the item's deletion and remove its rows; returns its key scope to destroy."""
    repository = correspondence_repository(deps.store, deps.cipher)
    item = await repository.get(conn, correspondence_id)
    if item is None:  # pragma: no cover - the projection row came from this stream
        raise LookupError(f"correspondence {correspondence_id} has no stream")
    item.erase(reason=reason, request_id=request_id)
    recorded = await repository.save(
        conn,
        item,
        aggregate_id=correspondence_id,
        metadata=deps.metadata(organisation_id=item.organisation_id, subject_ref=item.subject_ref),
    )
    await project_correspondence(conn, recorded)
    return item.key_ref


def notice_text(*, deleted: int, kept: Sequence[KeptItem]) -> str:
    """The notice to the person (R10): counts and reasons, never the correspondence itself."""
    lines = [
        "Hei,",
        "",
        "Vi har behandlet forespørselen din om å slette all korrespondanse med oss.",
        f"Slettet: {deleted} korrespondanse(r).",
    ]
    if kept:
        lines += [f"Beholdt foreløpig: {len(kept)} korrespondanse(r), fordi:"]
        lines += [f"- {_REASON_TEXT[reason]}" for reason in sorted({item.reason for item in kept})]
        lines += ["", "Vi gir deg beskjed når også dette er slettet."]
    else:
        lines += [
            "Det vi beholdt tidligere, er nå også slettet. Vi har ingen korrespondanse igjen."
        ]
    lines += ["", "Hilsen ByggRygg personvern"]
    return "\n".join(lines)


def _shredder(deps: Dependencies) -> KeyShredder:
    if deps.shredder is None:
        raise ErasureUnavailable("no key shredder configured")
    return deps.shredder


async def _destroy(shredder: KeyShredder, scopes: Sequence[str]) -> None:
    for scope in scopes:
        await shredder.shred(scope)
