"""Erasures no person asked for (R2, R6): identity reported a licence revoked or a
subscription cancelled, a hold on what an earlier erasure kept ended, or the retention
scheduler files one per subject when a contract end's export offer is over (``triggers``,
``retention``). Each is filed with an AUTOMATIC actor and the trigger's code, approved and
fanned out at once, in the caller's transaction.

Nobody filed it, so nobody named an address to tell the person at (R10): the directory's
token of their login e-mail (``subject_directory``) is opened while the subject's key still
works and sealed under the request's own scope, exactly as a filed ``notify_email``; the
completion then tells them what was kept, if anything (``notices``).

A hold that ends while the subject's erasure is still open (its replies may already say
"kept", or it awaits a contact person's approval) is recorded against that erasure; when it
ends ``partially_completed`` or is rejected, the follow-up is filed then
(``file_follow_up_waiting_on``), so what the hold kept never outlives it.
"""

from __future__ import annotations

from uuid import UUID, uuid5

import asyncpg

from privacy_orchestrator.adapters import automatic_erasures, subject_directory
from privacy_orchestrator.domain.records import ActorRole, RequestKind
from privacy_orchestrator.domain.request import Actor, DataSubjectRequest
from privacy_orchestrator.domain.triggers import FOLLOW_UP_TRIGGERS
from privacy_orchestrator.service_layer import (
    notices,
    requests,  # a cycle: requests calls back here
)
from privacy_orchestrator.service_layer.context import Dependencies


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
    await _remember_where_to_tell(conn, deps, subject_ref=subject_ref, request_id=request_id)
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
    await requests.open_request(conn, deps, request)
    return request.id


async def file_follow_up_waiting_on(
    conn: asyncpg.Connection, deps: Dependencies, request: DataSubjectRequest
) -> UUID | None:
    """After ``request`` (an erasure) ended keeping something, or was rejected: if a hold
    ended while it was open, file that hold's follow-up now (trigger id derived from both, so
    once); its id, or None. In the ending transaction."""
    waiting = await automatic_erasures.follow_up_waiting_on(conn, request.id, FOLLOW_UP_TRIGGERS)
    if waiting is None:
        return None
    trigger_id, trigger = waiting
    return await file_automatic_erasure(
        conn,
        deps,
        subject_ref=request.subject_ref,
        organisation_id=request.organisation_id,
        trigger=trigger,
        trigger_id=uuid5(trigger_id, str(request.id)),
    )


async def _remember_where_to_tell(
    conn: asyncpg.Connection, deps: Dependencies, *, subject_ref: str, request_id: UUID
) -> None:
    """The person's login e-mail as the request's notify address, when the directory has a
    readable one (none for a subject already erased, whose follow-up keeps nothing new). A
    token the key ring refuses costs the notice, never the erasure."""
    token = await subject_directory.email_token(conn, subject_ref)
    address = (
        None if token is None else await notices.open_identity_address(deps, subject_ref, token)
    )
    if address is not None:
        await notices.remember_notify_address(conn, deps, request_id=request_id, address=address)
