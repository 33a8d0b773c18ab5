"""Erasures no person asked for (R2, R6): identity reported a licence revoked or a
subscription cancelled, a complaint that held data was resolved, or the retention scheduler
files one per subject when a contract end's export offer is over (``triggers``,
``retention``). Each is filed with an AUTOMATIC actor and the trigger's code, approved and
fanned out at once, in the caller's transaction.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from privacy_orchestrator.adapters import automatic_erasures
from privacy_orchestrator.domain.records import ActorRole, RequestKind
from privacy_orchestrator.domain.request import Actor, DataSubjectRequest
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.requests import open_request


async def file_automatic_erasure(
    conn: asyncpg.Connection,
    deps: Dependencies,
    *,
    subject_ref: str,
    organisation_id: UUID | None,
    trigger: str,
    trigger_id: UUID,
) -> UUID | None:
    """File an erasure with an AUTOMATIC actor, approved and fanned out at once (R6), in the
    caller's transaction; the new request's id.

    None when nothing is filed: this trigger filed one before (a redelivery, a resumed batch),
    or an erasure of the subject is already open (that one covers this trigger too; the
    trigger is recorded against it). A per-subject lock makes the check and the filing one
    step for concurrent triggers of the same subject.
    """
    await automatic_erasures.lock_subjects(conn, [subject_ref])
    now = deps.clock()
    request_id = deps.ids.new_id()
    claimed = await automatic_erasures.claim_trigger(
        conn,
        trigger_id=trigger_id,
        trigger=trigger,
        subject_ref=subject_ref,
        new_request_id=request_id,
        at=now,
    )
    if claimed is not automatic_erasures.Claim.FILE_NEW:
        return None
    request = DataSubjectRequest.receive(
        request_id=request_id,
        kind=RequestKind.ERASURE,
        subject_ref=subject_ref,
        organisation_id=organisation_id,
        requested_by=Actor(
            role=ActorRole.AUTOMATIC,
            account=None,
            organisation_id=organisation_id,
            at=now,
            trigger=trigger,
        ),
    )
    await open_request(conn, deps, request)
    return request.id
