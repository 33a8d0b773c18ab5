"""The data-subject request workflow: intake (R17, R18), approval, fan-out, replies, completion.

Every step is one transaction of the orchestrator's database: the request's events, its
projection, the commands (appended to the event store, which is the outbox: the relay
publishes each on ``privacy.commands.<participant>.v1``), the inbox claim of a reply and the
completion record (R19) commit together or not at all.

Who may do what:

- a person files for themself (subject = the token's ``subject_ref``): approved at once (R17);
- platform staff file for any subject they name: approved at once;
- an organisation's contact person forwards an employee's request (names the subject): it
  waits until a contact person of the same organisation approves or rejects it (R18);
- a request is visible to who filed it, its subject, the contact persons of its organisation
  and staff; to anyone else it does not exist (404, also across tenants).

Erasure and the subject's key: participants shred it when they keep nothing that needs it
(``byggrygg_shared.contracts.privacy``). The orchestrator shreds it too when an erasure
completes and no participant kept anything (a kept item may be encrypted under that key; the
key then lives until a later erasure without the hold). As in ``byggrygg_shared.participant``
the shred runs before the commit: a crash in between leaves the key shredded and the reply
unrecorded, the reply is redelivered and shredding again is a no-op.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal
from uuid import UUID

import asyncpg

from byggrygg_shared.auth import Principal, Role
from byggrygg_shared.contracts.privacy import Hold, ParticipantReplied
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import EventMetadata, ReceivedEvent
from byggrygg_shared.inbox import claim
from privacy_orchestrator.adapters import request_store
from privacy_orchestrator.adapters.request_store import RequestView
from privacy_orchestrator.domain import records
from privacy_orchestrator.domain.errors import RequestRuleBroken
from privacy_orchestrator.domain.records import ActorRole, RequestKind
from privacy_orchestrator.domain.request import (
    Actor,
    DataSubjectRequest,
    IssuedCommand,
    RecordedEvidence,
)
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.errors import (
    HoldNotFound,
    NotYourSubject,
    RequestNotFound,
    SubjectRequired,
)
from privacy_orchestrator.service_layer.plan import installed_participants, plan_request
from privacy_orchestrator.service_layer.records import append_completion_record

logger = logging.getLogger(__name__)

REPLIES_CONSUMER: Final = "privacy-orchestrator.replies"
COMMAND_STREAM_PREFIX: Final = "privacy-commands-"

RejectionReason = Literal[
    "manifestly_unfounded", "excessive", "not_an_employee", "identity_not_verified", "withdrawn"
]


def _uuid_or_none(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)


def _actor(principal: Principal, role: ActorRole, at: datetime) -> Actor:
    return Actor(
        role=role,
        account=principal.user_id,
        organisation_id=_uuid_or_none(principal.organisation_id),
        at=at,
    )


@dataclass(frozen=True)
class Filed:
    """Who files a request, for whom, in which organisation, in which role."""

    subject_ref: str
    organisation_id: UUID | None
    role: ActorRole


def _filing(principal: Principal, subject_ref: str | None, organisation_id: UUID | None) -> Filed:
    own = subject_ref is None or subject_ref == principal.subject_ref
    if principal.is_platform_staff and not own:
        assert subject_ref is not None
        return Filed(subject_ref, organisation_id, ActorRole.PLATFORM_STAFF)
    if principal.is_platform_staff and subject_ref is None:
        raise SubjectRequired()
    if own:
        return Filed(
            principal.subject_ref,
            _uuid_or_none(principal.organisation_id),
            ActorRole.DATA_SUBJECT,
        )
    if Role.CONTACT_PERSON in principal.roles and principal.organisation_id is not None:
        assert subject_ref is not None
        # An employee's request forwarded to their employer, the controller (R18).
        return Filed(subject_ref, UUID(principal.organisation_id), ActorRole.CONTACT_PERSON)
    raise NotYourSubject()


async def file_request(
    deps: Dependencies,
    principal: Principal,
    *,
    kind: RequestKind,
    subject_ref: str | None = None,
    organisation_id: UUID | None = None,
) -> RequestView:
    """Receive a request; approved (and fanned out) at once unless a contact person forwards it."""
    filed = _filing(principal, subject_ref, organisation_id)
    now = deps.clock()
    request = DataSubjectRequest.receive(
        request_id=deps.ids.new_id(),
        kind=kind,
        subject_ref=filed.subject_ref,
        organisation_id=filed.organisation_id,
        requested_by=_actor(principal, filed.role, now),
    )
    async with transaction(deps.pool) as conn:
        await _fan_out_if_approved(conn, deps, request)
        await _save(conn, deps, request)
        view = await request_store.find_request(conn, request.id)
    assert view is not None
    logger.info("request %s received (%s, %s)", request.id, kind.value, request.state.value)
    return view


async def decide(
    deps: Dependencies,
    principal: Principal,
    request_id: UUID,
    *,
    approve: bool,
    reason: RejectionReason | None = None,
) -> RequestView:
    """A contact person of the request's organisation approves or rejects it (R18)."""
    async with transaction(deps.pool) as conn:
        request = await deps.requests.get(conn, request_id)
        if request is None or not _controller_of(principal, request.organisation_id):
            raise RequestNotFound(request_id)
        actor = _actor(principal, ActorRole.CONTACT_PERSON, deps.clock())
        if approve:
            request.approve(actor)
            await _fan_out_if_approved(conn, deps, request)
        else:
            request.reject(actor, reason or "manifestly_unfounded")
        await _save(conn, deps, request)
        view = await request_store.find_request(conn, request.id)
    assert view is not None
    return view


def _controller_of(principal: Principal, organisation_id: UUID | None) -> bool:
    return (
        Role.CONTACT_PERSON in principal.roles
        and organisation_id is not None
        and principal.organisation_id == str(organisation_id)
    )


async def get_request(deps: Dependencies, principal: Principal, request_id: UUID) -> RequestView:
    """The request, if the caller may see it (else `RequestNotFound`)."""
    async with deps.pool.acquire() as conn:
        view = await request_store.find_request(conn, request_id)
    if view is None or not _may_read(principal, view):
        raise RequestNotFound(request_id)
    return view


def _may_read(principal: Principal, view: RequestView) -> bool:
    return (
        principal.is_platform_staff
        or view.requested_by == principal.user_id
        or view.subject_ref == principal.subject_ref
        or _controller_of(principal, view.organisation_id)
    )


async def list_requests(deps: Dependencies, *, state: str | None, limit: int) -> list[RequestView]:
    async with deps.pool.acquire() as conn:
        return await request_store.list_requests(conn, state=state, limit=limit)


async def _save(conn: asyncpg.Connection, deps: Dependencies, request: DataSubjectRequest) -> None:
    await deps.requests.save(
        conn,
        request,
        aggregate_id=request.id,
        metadata=EventMetadata.new(
            correlation_id=str(request.id),
            subject_ref=request.subject_ref,
            tenant_id=None if request.organisation_id is None else str(request.organisation_id),
            clock=deps.clock,
            new_id=deps.ids.new_id,
        ),
    )
    await request_store.project_request(conn, request)


async def _fan_out_if_approved(
    conn: asyncpg.Connection, deps: Dependencies, request: DataSubjectRequest
) -> None:
    """Plan the approved request and append one command per participant to the outbox."""
    if request.state.value != "approved":
        return
    now = deps.clock()
    holds: list[Hold] = (
        await request_store.holds_in_force(conn, request.subject_ref, now.date())
        if request.kind is RequestKind.ERASURE
        else []
    )
    plan = plan_request(
        request_id=request.id,
        kind=request.kind,
        subject_ref=request.subject_ref,
        organisation_id=request.organisation_id,
        participants=deps.participants or installed_participants(),
        holds=holds,
        issued_at=now,
    )
    tenant = None if request.organisation_id is None else str(request.organisation_id)
    metas = [
        EventMetadata.new(
            correlation_id=str(request.id),
            subject_ref=request.subject_ref,
            tenant_id=tenant,
            clock=deps.clock,
            new_id=deps.ids.new_id,
        )
        for _ in plan.commands
    ]
    stream = f"{COMMAND_STREAM_PREFIX}{request.id}"
    await deps.outbox.append(
        conn,
        stream_id=stream,
        expected_version=await deps.outbox.stream_version(conn, stream),
        events=plan.commands,
        metadata=metas,
    )
    request.issue(
        [
            IssuedCommand(
                participant=command.participant,
                command=type(command).command,
                event_id=meta.event_id,
            )
            for command, meta in zip(plan.commands, metas, strict=True)
        ],
        request_store.hold_ids(plan.holds),
        now,
    )


# --- replies --------------------------------------------------------------------------------


async def record_reply(
    deps: Dependencies, reply: ParticipantReplied, received: ReceivedEvent
) -> bool:
    """Record a participant's reply; complete the request when it is the last one.

    False when nothing changed: a redelivery, a request this orchestrator does not know, or a
    reply it never asked for (logged, acknowledged: retrying would not make it fit).
    """
    async with transaction(deps.pool) as conn:
        if not await claim(conn, consumer=REPLIES_CONSUMER, event_id=received.id):
            return False
        request = await deps.requests.get(conn, reply.request_id)
        if request is None:
            logger.warning("reply for unknown request %s ignored", reply.request_id)
            return False
        try:
            recorded = request.record_reply(
                participant=reply.participant,
                command=reply.command,
                outcome=reply.outcome,
                evidence=[
                    RecordedEvidence.model_validate(item.model_dump()) for item in reply.evidence
                ],
                replied_at=reply.replied_at,
            )
        except RequestRuleBroken as error:
            logger.warning("reply for request %s ignored: %s", reply.request_id, error)
            return False
        if not recorded:
            return False
        if request.all_replied:
            request.complete(deps.clock())
        await _save(conn, deps, request)
        if request.completed_at is not None:
            if _shred_after(request) and deps.keyring is not None:
                await deps.keyring.shred(request.subject_ref)
            await append_completion_record(deps, completion_content(request), conn=conn)
            logger.info("request %s %s", request.id, request.state.value)
    return True


def _shred_after(request: DataSubjectRequest) -> bool:
    """An erasure completed with nothing kept anywhere: the subject's key can go."""
    return request.kind is RequestKind.ERASURE and request.state.value == "completed"


def completion_content(request: DataSubjectRequest) -> records.RecordContent:
    """What the completion record states (R19): roles, evidence, outcome; no personal data."""
    assert request.completed_at is not None
    assert request.issued_at is not None
    issued_at = request.issued_at
    reports = []
    kept = []
    for name in sorted(request.replies):
        reply = request.replies[name]
        evidence = [
            records.Evidence(
                location=item.location,
                action=records.EvidenceAction(item.action),
                count=item.count,
                basis=item.basis,
                keep_until=item.keep_until,
            )
            for item in reply.evidence
        ]
        reports.append(
            records.ParticipantReport(
                participant=name,
                command=reply.command,
                outcome=records.Outcome(reply.outcome),
                sent_at=issued_at,
                replied_at=reply.replied_at,
                evidence=evidence,
            )
        )
        kept += [
            records.KeptData(
                participant=name,
                location=item.location,
                basis=item.basis or "unspecified",
                keep_until=item.keep_until,
            )
            for item in reply.evidence
            if item.action == "kept" and item.count > 0
        ]
    return records.RecordContent(
        request_id=request.id,
        kind=request.kind,
        received_at=request.received_at,
        deadline=request.deadline,
        requested_by=_record_actor(request.requested_by),
        approved_by=None if request.decided_by is None else _record_actor(request.decided_by),
        participants=reports,
        kept=kept,
        outcome=records.Outcome(request.state.value),
        completed_at=request.completed_at,
    )


def _record_actor(actor: Actor) -> records.Actor:
    # A role, the organisation and the time: never the account (R19).
    return records.Actor(role=actor.role, at=actor.at, organisation_id=actor.organisation_id)


# --- legal holds ----------------------------------------------------------------------------


async def add_hold(deps: Dependencies, *, subject_ref: str, hold: Hold) -> None:
    async with transaction(deps.pool) as conn:
        await request_store.add_hold(
            conn, subject_ref=subject_ref, hold=hold, created_at=deps.clock()
        )


async def release_hold(deps: Dependencies, hold_id: UUID) -> None:
    async with transaction(deps.pool) as conn:
        if not await request_store.release_hold(conn, hold_id, deps.clock()):
            raise HoldNotFound(hold_id)
