"""Command handlers and queries of questions and complaints (R21), platform staff only.

Opening a complaint emits ``ComplaintOpened`` and places a hold on the data it concerns; in
consent, a hold on ``correspondence`` keeps every correspondence item of the person from
deletion and from the retention purge (R9). Resolving it (``ComplaintResolved``) releases the
hold, and in the same transaction the person's pending correspondence deletion requests are
processed again: what is no longer held is deleted and the person is told (R10).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from byggrygg_shared.eventstore import ConcurrentAppend
from consent.adapters import correspondence_queries as queries
from consent.adapters.correspondence_projections import project_complaint
from consent.adapters.correspondence_repositories import complaint_repository
from consent.domain.complaints import Complaint, ComplaintKind, DataArea, Outcome
from consent.service_layer.context import Actor, Dependencies
from consent.service_layer.correspondence import require_staff
from consent.service_layer.correspondence_erasure import (
    destroy_scopes,
    reprocess_pending_deletions,
)
from consent.service_layer.errors import ComplaintNotFound, VersionMismatch


@dataclass(frozen=True)
class ComplaintView:
    complaint_id: UUID
    kind: str
    organisation_id: UUID | None
    subject_ref: str
    summary: str
    concerns: tuple[str, ...]
    status: str
    outcome: str | None
    resolution_text: str | None
    opened_at: datetime
    opened_by: str
    resolved_at: datetime | None
    resolved_by: str | None
    holds: bool
    version: int


async def handle_open_complaint(
    *,
    deps: Dependencies,
    actor: Actor,
    kind: ComplaintKind,
    organisation_id: UUID | None,
    subject_ref: str,
    summary: str,
    concerns: Sequence[DataArea],
) -> UUID:
    """Record a question, or open a complaint that holds the data it concerns (R21)."""
    require_staff(actor)
    complaint_id = deps.ids.new_id()
    complaint = Complaint.open(
        complaint_id=complaint_id,
        kind=kind,
        organisation_id=organisation_id,
        subject_ref=subject_ref,
        # The complaint's own key scope: its texts outlive or predate the person's other data.
        key_ref=deps.ids.new_subject_ref(),
        summary=summary,
        concerns=concerns,
        opened_by=actor.user_id,
    )
    async with deps.unit_of_work() as conn:
        # The person's lock: a deletion running now either finished first or sees the hold.
        await queries.lock_person(conn, subject_ref)
        await _save(conn, deps, complaint)
    return complaint_id


async def handle_resolve_complaint(
    *,
    deps: Dependencies,
    actor: Actor,
    complaint_id: UUID,
    outcome: Outcome | None,
    resolution_text: str,
    expected_version: int,
) -> None:
    """Resolve a complaint (releasing its hold) or answer a question."""
    require_staff(actor)
    repository = complaint_repository(deps.store, deps.cipher)
    try:
        async with deps.unit_of_work() as conn:
            complaint = await repository.get(conn, complaint_id)
            if complaint is None:
                raise ComplaintNotFound(str(complaint_id))
            await queries.lock_person(conn, complaint.subject_ref)
            if complaint.version != expected_version:
                raise VersionMismatch(expected=expected_version, actual=complaint.version)
            released = complaint.holds(DataArea.CORRESPONDENCE)
            complaint.resolve(
                outcome=outcome, resolution_text=resolution_text, resolved_by=actor.user_id
            )
            await _save(conn, deps, complaint)
            if released:
                scopes = await reprocess_pending_deletions(conn, deps, complaint.subject_ref)
                await destroy_scopes(deps, scopes)
    except ConcurrentAppend as error:
        raise VersionMismatch(
            expected=error.expected_version, actual=error.actual_version
        ) from None


async def get_complaint(*, deps: Dependencies, actor: Actor, complaint_id: UUID) -> ComplaintView:
    require_staff(actor)
    async with deps.pool.acquire() as conn:
        row = await queries.fetch_complaint(conn, complaint_id)
    if row is None:
        raise ComplaintNotFound(str(complaint_id))
    return await _view(deps, row)


async def list_complaints(
    *, deps: Dependencies, actor: Actor, subject_ref: str | None, status: str | None
) -> list[ComplaintView]:
    require_staff(actor)
    async with deps.pool.acquire() as conn:
        rows = await queries.list_complaints(conn, subject_ref=subject_ref, status=status)
    return [await _view(deps, row) for row in rows]


async def _save(conn: asyncpg.Connection, deps: Dependencies, complaint: Complaint) -> None:
    recorded = await complaint_repository(deps.store, deps.cipher).save(
        conn,
        complaint,
        aggregate_id=complaint.id,
        metadata=deps.metadata(
            organisation_id=complaint.organisation_id, subject_ref=complaint.subject_ref
        ),
    )
    await project_complaint(conn, recorded)


async def _view(deps: Dependencies, row: asyncpg.Record) -> ComplaintView:
    key_ref: str = row["key_ref"]
    resolution = row["resolution_text"]
    return ComplaintView(
        complaint_id=row["complaint_id"],
        kind=row["kind"],
        organisation_id=row["organisation_id"],
        subject_ref=row["subject_ref"],
        summary=str(await deps.cipher.decrypt(key_ref, row["summary"])),
        concerns=tuple(row["concerns"]),
        status=row["status"],
        outcome=row["outcome"],
        resolution_text=None
        if resolution is None
        else str(await deps.cipher.decrypt(key_ref, resolution)),
        opened_at=row["opened_at"],
        opened_by=row["opened_by"],
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
        holds=row["kind"] == ComplaintKind.COMPLAINT.value
        and row["status"] == "open"
        and DataArea.CORRESPONDENCE.value in row["concerns"],
        version=row["version"],
    )
