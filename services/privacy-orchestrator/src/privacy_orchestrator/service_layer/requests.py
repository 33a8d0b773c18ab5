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

Sub-processors (R13): the fan-out queues a signed request to every sub-processor that received
the subject's data (``plan.subprocessor_fields``) in the same transaction and records it
(``SubProcessorsRequested``). A verified callback records the confirmation on the request in
the callback's own transaction (``record_confirmation``). Whichever answer is the last missing
one (a participant's reply or a sub-processor's confirmation) completes the request, under the
request row's lock so that two answers arriving together cannot both miss it. An escalated
delivery keeps the request open: it shows on the request (``sub_processors``) until a late
confirmation comes or an operator acts.

Rectification (R15): the corrections are sealed under the subject's key at intake (key-ring
tokens); the participants get the tokens (``RectifySubject``), a sub-processor the plain
values of the fields of its categories (it is another company: the delivery's ``changes``,
cleared once it accepted them).

Access (R14): each participant's export part (a token) and each sub-processor's (plain JSON,
sealed here under the subject's key) go to ``exports.keep_export_part`` as they arrive; the
completing transaction calls ``exports.assemble_export``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal
from uuid import UUID

import asyncpg

from byggrygg_shared.auth import Principal, Role
from byggrygg_shared.contracts.privacy import Hold, ParticipantReplied
from byggrygg_shared.correlation import bound_correlation_id
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import EventMetadata, ReceivedEvent
from byggrygg_shared.inbox import claim_many
from byggrygg_shared.keyring import SubjectErased
from privacy_orchestrator import metrics as request_metrics
from privacy_orchestrator.adapters import request_actions, request_store
from privacy_orchestrator.adapters.request_store import RequestView
from privacy_orchestrator.domain import records
from privacy_orchestrator.domain.errors import RequestRuleBroken
from privacy_orchestrator.domain.records import ActorRole, RequestKind
from privacy_orchestrator.domain.request import (
    SUBPROCESSOR_DONE,
    Actor,
    DataSubjectRequest,
    ExtensionReason,
    IssuedCommand,
    RecordedEvidence,
    RequestedSubProcessor,
    RequestState,
    SubProcessorClosedByOperator,
    SubProcessorConfirmed,
)
from privacy_orchestrator.domain.subprocessors import Confirmation, DeliveryPolicy, PrivacyAction
from privacy_orchestrator.service_layer import automatic, exports, notices, request_status
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.errors import (
    DeliveryNotEscalated,
    HoldNotFound,
    KeyRingMissing,
    NotYourSubject,
    OrganisationNotYours,
    RequestNotFound,
    SubjectKeyErased,
    SubjectRequired,
    SubProcessorNotOnRequest,
)
from privacy_orchestrator.service_layer.plan import (
    installed_participants,
    plan_request,
    subprocessor_fields,
)
from privacy_orchestrator.service_layer.records import (
    append_completion_record,
    append_completion_records,
)
from privacy_orchestrator.service_layer.subprocessors import (
    DELIVERY_CHANNEL,
    send_privacy_request,
)

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
    if organisation_id is not None and not principal.is_platform_staff:
        # Refused, not ignored: the caller must not believe their organisation was taken.
        raise OrganisationNotYours()
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
    corrections: Mapping[str, str] | None = None,
    notify_email: str | None = None,
) -> RequestView:
    """Receive a request; approved (and fanned out) at once unless a contact person forwards it.

    `notify_email`: where to tell the person if data is kept when it ends (R10, `notices`).

    A rectification's `corrections` (field -> new value, validated by the caller's schema) are
    sealed under the subject's key before anything is written (R15)."""
    filed = _filing(principal, subject_ref, organisation_id)
    if (kind is RequestKind.RECTIFICATION) != bool(corrections):
        raise RequestRuleBroken("a rectification, and only a rectification, has corrections")
    tokens = await _seal(deps, filed.subject_ref, corrections or {})
    now = deps.clock()
    request = DataSubjectRequest.receive(
        request_id=deps.ids.new_id(),
        kind=kind,
        subject_ref=filed.subject_ref,
        organisation_id=filed.organisation_id,
        requested_by=_actor(principal, filed.role, now),
        corrections=tokens,
    )
    async with transaction(deps.pool) as conn:
        if notify_email is not None:
            await notices.remember_notify_address(
                conn, deps, request_id=request.id, address=notify_email
            )
        await open_request(conn, deps, request)
        view = await request_store.find_request(conn, request.id)
    assert view is not None
    logger.info("request %s received (%s, %s)", request.id, kind.value, request.state.value)
    return view


async def _seal(deps: Dependencies, subject_ref: str, values: Mapping[str, str]) -> dict[str, str]:
    """Each value as a key-ring token under the subject's key (R15)."""
    if not values:
        return {}
    if deps.keyring is None:
        raise KeyRingMissing()
    try:
        return {
            name: await deps.keyring.encrypt(subject_ref, value) for name, value in values.items()
        }
    except SubjectErased:
        raise SubjectKeyErased() from None


async def _unseal(
    deps: Dependencies, subject_ref: str, tokens: Mapping[str, str]
) -> dict[str, str]:
    """The plain values of a rectification's tokens (for a sub-processor, another company)."""
    if deps.keyring is None:
        raise KeyRingMissing()
    values = {}
    for name, token in tokens.items():
        value = await deps.keyring.decrypt(subject_ref, token)
        if not isinstance(value, str):
            raise SubjectKeyErased()
        values[name] = value
    return values


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
        # Rejected: nothing to tell by mail; the notify address (if any) goes (R10).
        await notices.notice_for_kept_data(conn, deps, request)
        if not approve and request.kind is RequestKind.ERASURE:
            # A hold that ended while it waited: what an earlier erasure kept is still to go.
            await automatic.file_follow_up_waiting_on(conn, deps, request)
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


async def list_requests(
    deps: Dependencies,
    *,
    state: str | None,
    limit: int,
    overdue: bool | None = None,
    escalated: bool | None = None,
    subject_ref: str | None = None,
) -> list[RequestView]:
    """Requests oldest first, filtered (state, overdue, a sub-processor escalated, one
    subject's) before the limit."""
    async with deps.pool.acquire() as conn:
        return await request_store.list_requests(
            conn,
            state=state,
            limit=limit,
            today=deps.clock().date(),
            overdue=overdue,
            escalated=escalated,
            subject_ref=subject_ref,
        )


async def extend_deadline(
    deps: Dependencies,
    principal: Principal,
    request_id: UUID,
    *,
    months: int,
    reason: ExtensionReason,
) -> RequestView:
    """Platform staff extend an open request's deadline once, by one or two months (art.
    12(3)); the caller checked the staff role."""
    async with transaction(deps.pool) as conn:
        await request_store.lock_request(conn, request_id)
        request = await deps.requests.get(conn, request_id)
        if request is None:
            raise RequestNotFound(request_id)
        request.extend_deadline(
            _actor(principal, ActorRole.PLATFORM_STAFF, deps.clock()), months=months, reason=reason
        )
        # R10: the person is told the new date and why (when the request has an address).
        await notices.notice_for_extension(conn, deps, request)
        await _save(conn, deps, request)
        view = await request_store.find_request(conn, request.id)
    assert view is not None
    return view


async def open_request(
    conn: asyncpg.Connection, deps: Dependencies, request: DataSubjectRequest
) -> None:
    """Store a request just received (or approved) in the caller's transaction, its commands
    and sub-processor requests queued when it is approved: filing's last step, shared by the
    requests people file and the ones the orchestrator files itself (``automatic``, the
    controller's ``organisation_exports``)."""
    await _fan_out_if_approved(conn, deps, request)
    await _save(conn, deps, request)


async def _save(conn: asyncpg.Connection, deps: Dependencies, request: DataSubjectRequest) -> None:
    # a state change is published for reporting's dashboard (request_status).
    change = request_status.change_of(request.pending)
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
    await request_status.publish_if_changed(conn, deps, request, change)


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
        corrections=request.corrections,
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
        expected_version=None,  # at the stream's end, without reading its version first
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
    await _request_sub_processors(conn, deps, request)


async def _request_sub_processors(
    conn: asyncpg.Connection, deps: Dependencies, request: DataSubjectRequest
) -> None:
    """Queue a signed request to every sub-processor that received the subject's data (R13),
    in the fan-out's transaction, and record them on the request."""
    ctx = deps.subprocessors
    if ctx is None:
        return
    action = PrivacyAction(request.kind.value)
    plain: dict[str, str] | None = None
    requested = []
    for entry in await ctx.store.all(conn):
        fields = subprocessor_fields(request.kind, entry.data_categories, list(request.corrections))
        if fields is None:
            continue
        changes = None
        if fields:
            plain = (
                plain
                if plain is not None
                else await _unseal(deps, request.subject_ref, request.corrections)
            )
            changes = {name: plain[name] for name in fields}
        delivery_id = await send_privacy_request(
            conn,
            ctx,
            entry.id,
            request_id=request.id,
            action=action,
            subject_ref=request.subject_ref,
            callback_url=f"{deps.callback_base_url}/subprocessors/{entry.id}/callbacks",
            changes=changes,
        )
        requested.append(
            RequestedSubProcessor(
                subprocessor_id=entry.id,
                name=entry.name,
                organisation_number=entry.organisation_number,
                delivery_id=delivery_id,
            )
        )
    request.request_sub_processors(requested, deps.clock())


# --- replies --------------------------------------------------------------------------------


async def record_reply(
    deps: Dependencies, reply: ParticipantReplied, received: ReceivedEvent
) -> bool:
    """Record a participant's reply; complete the request when it is the last one.

    False when nothing changed: a redelivery, a request this orchestrator does not know, or a
    reply it never asked for (logged, acknowledged: retrying would not make it fit).
    """
    return await record_replies(deps, [(reply, received)]) > 0


async def record_replies(
    deps: Dependencies, replies: Sequence[tuple[ParticipantReplied, ReceivedEvent]]
) -> int:
    """Record replies to ONE request, in order, in one transaction; complete the request when
    the last missing one is among them. How many were recorded (0: all redeliveries, unknown
    or unasked for, each logged)."""
    if any(reply.request_id != replies[0][0].request_id for reply, _ in replies):
        raise ValueError("record_replies takes the replies of one request")
    return await record_replies_together(deps, [replies])


async def record_replies_together(
    deps: Dependencies, groups: Sequence[Sequence[tuple[ParticipantReplied, ReceivedEvent]]]
) -> int:
    """Record the replies of several requests (one group per request, each in the order read)
    in ONE transaction; complete each request whose last missing answer is among them. How
    many were recorded. All or nothing.

    The consumer hands a batch's replies grouped by request: every reply's event id is
    claimed in one statement, every request's row is locked first, in id order, then each
    request is loaded once, its replies recorded, saved once, and completed (its own record,
    R19). Locking them all before any completion takes the chain head keeps this deadlock
    free: a callback holds one request and then waits for the head; this transaction never
    waits for a request while it holds the head.
    """
    fresh: dict[UUID, list[ParticipantReplied]] = {}
    correlation: dict[UUID, str] = {}
    async with transaction(deps.pool) as conn:
        claimed = await claim_many(
            conn,
            consumer=REPLIES_CONSUMER,
            event_ids=[received.id for group in groups for _, received in group],
        )
        for group in groups:
            for reply, received in group:
                if received.id not in claimed:
                    logger.info("reply event %s already claimed", received.id)
                    continue
                claimed.discard(received.id)  # a reply twice in the batch counts once
                fresh.setdefault(reply.request_id, []).append(reply)
                # Every reply of a request carries its correlation id (the request's).
                correlation.setdefault(reply.request_id, received.correlation_id)
        if not fresh:
            return 0
        await request_store.lock_requests(conn, sorted(fresh))
        recorded = 0
        completed: list[records.RecordContent] = []
        for request_id, replies in fresh.items():
            with bound_correlation_id(correlation[request_id]):
                recorded += await _record_on_request(conn, deps, request_id, replies, completed)
        # Last before the commit, all at once: the chain's head is locked once per chunk.
        await append_completion_records(deps, completed, conn=conn)
    return recorded


async def _record_on_request(
    conn: asyncpg.Connection,
    deps: Dependencies,
    request_id: UUID,
    replies: Sequence[ParticipantReplied],
    completed: list[records.RecordContent],
) -> int:
    """``replies`` (fresh ones) on the locked request: loaded once, saved once, its record's
    content added to ``completed`` if it completes; how many were new."""
    request = await deps.requests.get(conn, request_id)
    if request is None:
        logger.warning("reply for unknown request %s ignored", request_id)
        return 0
    recorded = 0
    for reply in replies:
        if await _record_one_reply(conn, deps, request, reply):
            recorded += 1
    if recorded:
        await _save_and_complete_if_answered(conn, deps, request, completed)
    return recorded


async def _record_one_reply(
    conn: asyncpg.Connection,
    deps: Dependencies,
    request: DataSubjectRequest,
    reply: ParticipantReplied,
) -> bool:
    """One reply on the loaded request (and its export part, if any); whether it was new."""
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
        logger.info("reply of %s for request %s already recorded", reply.participant, request.id)
        return False
    logger.info("reply of %s for request %s recorded", reply.participant, request.id)
    if reply.export is not None:
        await exports.keep_export_part(
            conn,
            deps,
            request_id=request.id,
            participant=reply.participant,
            export_token=reply.export,
        )
    return True


async def record_confirmation(
    conn: asyncpg.Connection, deps: Dependencies, confirmation: Confirmation
) -> None:
    """Record a sub-processor's verified confirmation on its request, in the callback's
    transaction; complete the request when it was the last missing answer (R13).

    A confirmation of a request this workflow does not know (sent by hand) or no longer
    waits for is logged and left as the sub-processor store recorded it.
    """
    await request_store.lock_request(conn, confirmation.request_id)
    request = await deps.requests.get(conn, confirmation.request_id)
    if request is None:
        logger.warning("confirmation for unknown request %s", confirmation.request_id)
        return
    try:
        recorded = request.record_confirmation(
            subprocessor_id=confirmation.subprocessor_id,
            outcome=confirmation.outcome,
            records=confirmation.records,
            fields=confirmation.fields,
            completed_at=confirmation.completed_at,
            confirmed_at=confirmation.confirmed_at,
            webhook_id=confirmation.webhook_id,
        )
    except RequestRuleBroken as error:
        logger.warning("confirmation for request %s not recorded: %s", request.id, error)
        return
    if not recorded:
        return
    if request.kind is RequestKind.ACCESS and confirmation.export is not None:
        # Their record is personal data: sealed under the subject's key before it is kept.
        if deps.keyring is None:
            raise KeyRingMissing()
        token = await deps.keyring.encrypt(
            request.subject_ref, json.dumps(confirmation.export, sort_keys=True)
        )
        await exports.keep_export_part(
            conn,
            deps,
            request_id=request.id,
            participant=f"subprocessor:{confirmation.subprocessor_name}",
            export_token=token,
        )
    await _save_and_complete_if_answered(conn, deps, request)


async def _save_and_complete_if_answered(
    conn: asyncpg.Connection,
    deps: Dependencies,
    request: DataSubjectRequest,
    records_to_append: list[records.RecordContent] | None = None,
) -> None:
    """Save the request, completing it first when every participant replied and every
    sub-processor confirmed; then the key shred, the export and the record (R14, R19).

    With ``records_to_append`` the record's content goes there instead, for the caller to
    append with the others of its transaction, under one lock of the chain's head."""
    if request.can_complete:  # every answer in and not on hold
        request.complete(deps.clock())
        request_metrics.observe_completion(request)  # at least once, see there
    await _save(conn, deps, request)
    if request.completed_at is None:
        return
    if _shred_after(request) and deps.keyring is not None:
        await deps.keyring.shred(request.subject_ref)
    if request.kind is RequestKind.ACCESS:
        await exports.assemble_export(conn, deps, request)
    reports = await _subprocessor_reports(conn, deps, request)
    # R10: the kept-data mail is queued in this transaction; the record names it.
    notice = await notices.notice_for_kept_data(conn, deps, request)
    if request.kind is RequestKind.ERASURE and request.state is RequestState.PARTIALLY_COMPLETED:
        await automatic.file_follow_up_waiting_on(conn, deps, request)
    content = completion_content(
        request, sub_processors=reports, notices=() if notice is None else (notice,)
    )
    if records_to_append is not None:
        records_to_append.append(content)
    else:
        # Last before the commit: every completion waits for the chain head's lock this takes.
        await append_completion_record(deps, content, conn=conn)
    logger.info("request %s %s", request.id, request.state.value)


_EVIDENCE_OF: Final = {
    "erased": (records.EvidenceAction.ERASED, "records"),
    "rectified": (records.EvidenceAction.RECTIFIED, "fields"),
    "exported": (records.EvidenceAction.EXPORTED, "records"),
}


async def _subprocessor_reports(
    conn: asyncpg.Connection, deps: Dependencies, request: DataSubjectRequest
) -> list[records.SubProcessorReport]:
    """Each sub-processor's part of the record: the signed call (when first sent, how many
    attempts), the callback's time and what it said it did (R13, R19)."""
    if not request.sub_processors or deps.subprocessors is None:
        return []
    store = deps.subprocessors.store
    rows = {row["id"]: row for row in await store.deliveries(conn, request_id=request.id)}
    reports = []
    for asked in sorted(request.sub_processors.values(), key=lambda item: item.name):
        row = rows[asked.delivery_id]
        attempts = await store.attempts(conn, asked.delivery_id)
        sent_at = attempts[0]["attempted_at"] if attempts else row["created_at"]
        confirmed = request.confirmations.get(asked.subprocessor_id)
        if confirmed is None:  # closed by an operator (R13), with the written reason
            reports.append(
                _closed_report(
                    asked,
                    request.closed[asked.subprocessor_id],
                    webhook_id=row["webhook_id"],
                    sent_at=sent_at,
                    attempts=max(row["attempts"], 1),
                )
            )
            continue
        reports.append(
            _subprocessor_report(
                asked,
                confirmed,
                webhook_id=row["webhook_id"],
                sent_at=sent_at,
                attempts=max(row["attempts"], 1),
            )
        )
    return reports


def _subprocessor_report(
    asked: RequestedSubProcessor,
    confirmed: SubProcessorConfirmed,
    *,
    webhook_id: str,
    sent_at: datetime,
    attempts: int,
) -> records.SubProcessorReport:
    done = confirmed.outcome in SUBPROCESSOR_DONE
    evidence = []
    if confirmed.outcome in _EVIDENCE_OF:
        action, counted = _EVIDENCE_OF[confirmed.outcome]
        evidence.append(
            records.Evidence(
                location=f"sub-processor {counted}",
                action=action,
                count=confirmed.records if counted == "records" else confirmed.fields,
            )
        )
    return records.SubProcessorReport(
        name=asked.name,
        organisation_number=asked.organisation_number,
        webhook_id=webhook_id,
        sent_at=sent_at,
        attempts=attempts,
        outcome=records.Outcome.COMPLETED if done else records.Outcome.FAILED,
        confirmed_at=confirmed.confirmed_at,
        evidence=evidence,
    )


def _closed_report(
    asked: RequestedSubProcessor,
    closed: SubProcessorClosedByOperator,
    *,
    webhook_id: str,
    sent_at: datetime,
    attempts: int,
) -> records.SubProcessorReport:
    """H2: a sub-processor request an operator closed (R13): no confirmation, the reason."""
    return records.SubProcessorReport(
        name=asked.name,
        organisation_number=asked.organisation_number,
        webhook_id=webhook_id,
        sent_at=sent_at,
        attempts=attempts,
        outcome=records.Outcome.CLOSED_BY_OPERATOR,
        confirmed_at=None,
        reason=closed.reason,
    )


def _shred_after(request: DataSubjectRequest) -> bool:
    """An erasure completed with nothing kept anywhere: the subject's key can go."""
    return request.kind is RequestKind.ERASURE and request.state.value == "completed"


def completion_content(
    request: DataSubjectRequest,
    *,
    sub_processors: Sequence[records.SubProcessorReport] = (),
    notices: Sequence[records.Notice] = (),
) -> records.RecordContent:
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
        sub_processors=tuple(sub_processors),
        kept=kept,
        # notices queued during the request (a deadline extension's), then the final ones.
        notices=tuple(
            records.Notice(kind=item.notice, sent_at=item.sent_at, reference=item.reference)
            for item in request.notified
        )
        + tuple(notices),
        outcome=records.Outcome(request.state.value),
        completed_at=request.completed_at,
        reason=None
        if request.extension is None
        else f"deadline_extended:{request.extension.reason}",
    )


def _record_actor(actor: Actor) -> records.Actor:
    # A role, the organisation and the time: never the account (R19).
    return records.Actor(
        role=actor.role, at=actor.at, organisation_id=actor.organisation_id, trigger=actor.trigger
    )


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


# --- operator actions and time-outs (R13, DESIGN §5) --------------------------


async def _locked_request(
    conn: asyncpg.Connection, deps: Dependencies, request_id: UUID
) -> DataSubjectRequest:
    await request_store.lock_request(conn, request_id)
    request = await deps.requests.get(conn, request_id)
    if request is None:
        raise RequestNotFound(request_id)
    return request


async def _escalated_delivery(
    conn: asyncpg.Connection, request: DataSubjectRequest, subprocessor_id: UUID
) -> UUID:
    """The id of the request's delivery to the sub-processor, which must be escalated."""
    delivery = await request_actions.delivery_on_request(
        conn, request_id=request.id, subprocessor_id=subprocessor_id
    )
    if delivery is None or subprocessor_id not in request.sub_processors:
        raise SubProcessorNotOnRequest()
    if delivery["state"] != "escalated":
        raise DeliveryNotEscalated()
    return UUID(str(delivery["id"]))


async def resend_sub_processor(
    deps: Dependencies, principal: Principal, request_id: UUID, subprocessor_id: UUID
) -> RequestView:
    """Staff send an escalated sub-processor request again (R13): a new message, due now;
    the delivery worker's rules apply to it as to any (a failure escalates it again)."""
    async with transaction(deps.pool) as conn:
        request = await _locked_request(conn, deps, request_id)
        delivery_id = await _escalated_delivery(conn, request, subprocessor_id)
        now = deps.clock()
        request.resend_sub_processor(
            subprocessor_id, _actor(principal, ActorRole.PLATFORM_STAFF, now)
        )
        policy = DeliveryPolicy() if deps.subprocessors is None else deps.subprocessors.policy
        await request_actions.resend_delivery(
            conn,
            delivery_id,
            webhook_id=f"msg_{deps.ids.new_id().hex}",
            now=now,
            deadline=now + policy.delivery_deadline,
        )
        await conn.execute("SELECT pg_notify($1, '')", DELIVERY_CHANNEL)
        await _save(conn, deps, request)
        view = await request_store.find_request(conn, request.id)
    assert view is not None
    logger.info("request %s: sub-processor %s sent again by staff", request_id, subprocessor_id)
    return view


async def resend_to_participant(
    deps: Dependencies, principal: Principal, request_id: UUID, participant: str
) -> RequestView:
    """Staff send an escalated participant's command again (R13): the same command under the
    same CloudEvent id (the participant's inbox makes it once; one that already applied it
    sends its recorded reply again), and the participant is waited for again, with a fresh
    round of automatic re-sends."""
    async with transaction(deps.pool) as conn:
        request = await _locked_request(conn, deps, request_id)
        issued = request.resend_to_escalated(
            participant, _actor(principal, ActorRole.PLATFORM_STAFF, deps.clock())
        )
        if not await _send_again(conn, deps, request, issued):  # pragma: no cover
            raise RequestRuleBroken(f"the command to {participant} is not stored")
        await _save(conn, deps, request)
        view = await request_store.find_request(conn, request.id)
    assert view is not None
    logger.info("request %s: command to %s sent again by staff", request_id, participant)
    return view


async def close_sub_processor(
    deps: Dependencies,
    principal: Principal,
    request_id: UUID,
    subprocessor_id: UUID,
    *,
    reason: str,
) -> RequestView:
    """Staff close an escalated sub-processor request with a written reason (R13): it counts
    as answered, so the request may complete, as partially_completed, the reason in its
    record."""
    async with transaction(deps.pool) as conn:
        request = await _locked_request(conn, deps, request_id)
        delivery_id = await _escalated_delivery(conn, request, subprocessor_id)
        now = deps.clock()
        request.close_sub_processor(
            subprocessor_id, _actor(principal, ActorRole.PLATFORM_STAFF, now), reason
        )
        await request_actions.close_delivery(
            conn, delivery_id, reason=request.closed[subprocessor_id].reason, now=now
        )
        await _save_and_complete_if_answered(conn, deps, request)
        view = await request_store.find_request(conn, request.id)
    assert view is not None
    logger.info("request %s: sub-processor %s closed by staff", request_id, subprocessor_id)
    return view


async def put_on_hold(
    deps: Dependencies, principal: Principal, request_id: UUID, *, reason: str
) -> RequestView:
    """Staff hold an in-progress request with a reason (DESIGN §5). The deadline does not
    move: only a filed extension moves it (art. 12(3))."""
    async with transaction(deps.pool) as conn:
        request = await _locked_request(conn, deps, request_id)
        request.put_on_hold(_actor(principal, ActorRole.PLATFORM_STAFF, deps.clock()), reason)
        await _save(conn, deps, request)
        view = await request_store.find_request(conn, request.id)
    assert view is not None
    return view


async def release_from_hold(
    deps: Dependencies, principal: Principal, request_id: UUID
) -> RequestView:
    """Staff release a held request; with every answer in, it completes at once."""
    async with transaction(deps.pool) as conn:
        request = await _locked_request(conn, deps, request_id)
        request.release(_actor(principal, ActorRole.PLATFORM_STAFF, deps.clock()))
        await _save_and_complete_if_answered(conn, deps, request)
        view = await request_store.find_request(conn, request.id)
    assert view is not None
    return view


async def chase_participants(
    deps: Dependencies, request_id: UUID, *, reply_within: timedelta, max_resends: int
) -> int:
    """Send the command again to each participant of the request that has not replied within
    ``reply_within`` of its last sending, up to ``max_resends`` times, then escalate it (the
    request stays open: it never completes without the reply). How many acted on."""
    async with transaction(deps.pool) as conn:
        await request_store.lock_request(conn, request_id)
        request = await deps.requests.get(conn, request_id)
        if request is None or request.state is not RequestState.IN_PROGRESS:
            return 0
        now = deps.clock()
        acted = 0
        for name in request.waiting_participants():
            if request.unanswered_since(name) > now - reply_within:
                continue
            acted += 1
            sent = request.resends.get(name, 0) < max_resends and await _send_again(
                conn, deps, request, request.issued[name]
            )
            if not sent:
                request.escalate_participant(name, now)
                logger.warning("request %s: participant %s escalated (no reply)", request.id, name)
                continue
            request.resend_command(name, now)
            logger.info("request %s: command to %s sent again", request.id, name)
        if acted:
            await _save(conn, deps, request)
    return acted


async def _send_again(
    conn: asyncpg.Connection, deps: Dependencies, request: DataSubjectRequest, issued: IssuedCommand
) -> bool:
    """Put the command the request issued on the outbox again, the same event under the same
    CloudEvent id (the participant's inbox applies it once); False if it is not stored."""
    stream = f"{COMMAND_STREAM_PREFIX}{request.id}"
    found = await request_actions.issued_command(conn, stream_id=stream, event_id=issued.event_id)
    if found is None:
        return False
    command, metadata = found
    await deps.outbox.append(
        conn,
        stream_id=stream,
        expected_version=None,  # at the stream's end, without reading its version first
        events=[command],
        metadata=metadata,
    )
    return True
