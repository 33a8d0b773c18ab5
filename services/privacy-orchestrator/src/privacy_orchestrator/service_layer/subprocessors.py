"""Sub-processors (R12, R13): the register, signed requests out, signed confirmations in.

- The register: list, get, add, update (optimistic: the version the caller saw); HeiHallo is
  seeded on first start (`seed_heihallo`).
- Out: `send_privacy_request` writes a pending delivery in the caller's transaction (an
  outbox: nothing leaves unless that transaction commits) and notifies
  ``DELIVERY_CHANNEL``, which PostgreSQL delivers on commit; `DeliveryWorker` LISTENs (and
  polls, for a missed notification or a retry coming due) and sends it after commit, signed
  per Standard Webhooks, retries with back-off, records every attempt, and escalates after
  ``max_attempts`` failures, a refusal or the deadline. A 409 answer means the sub-processor
  already accepted this ``webhook-id``.
- In: `receive_callback` verifies a callback with the sub-processor's callback secret and
  records the confirmation in the same transaction as the replay receipt
  (`PostgresWebhookReceipts`), and hands it to the request workflow's ``on_confirmed`` in
  that same transaction (the workflow records it on the request and may complete it, R13).
  `confirmations_for(conn, request_id)` lists what was confirmed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final
from uuid import UUID, uuid4

import asyncpg
from prometheus_client import Counter, Gauge
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from byggrygg_shared.background import notified, wait_for_any
from byggrygg_shared.db import transaction
from byggrygg_shared.inventory import DataCategory
from byggrygg_shared.metrics import webhook_rejections_total
from byggrygg_shared.sources import Clock, utc_now
from byggrygg_shared.webhooks import (
    MalformedWebhook,
    PostgresWebhookReceipts,
    WebhookVerifier,
)
from privacy_orchestrator.adapters.secret_files import SECRET_FILES
from privacy_orchestrator.adapters.subprocessor_store import SubProcessorStore
from privacy_orchestrator.adapters.webhook_client import WebhookClient, request_body
from privacy_orchestrator.domain.errors import InvalidSubProcessor
from privacy_orchestrator.domain.subprocessors import (
    HEIHALLO_NAME,
    HEIHALLO_ORGANISATION_NUMBER,
    Confirmation,
    DeliveryPolicy,
    DeliveryState,
    PrivacyAction,
    SubProcessor,
    organisation_number,
)
from privacy_orchestrator.service_layer.errors import (
    SubProcessorChanged,
    SubProcessorExists,
    SubProcessorNotFound,
    UnknownPrivacyRequest,
)

log = logging.getLogger(__name__)

# Labels: the sub-processor's (company) name, outcomes and states only: bounded, no personal data.
delivery_attempts_total: Final = Counter(
    "byggrygg_subprocessor_delivery_attempts",
    "HTTP attempts of privacy requests to sub-processors, by outcome: accepted, retry, refused.",
    ["subprocessor", "outcome"],
)
escalations_total: Final = Counter(
    "byggrygg_subprocessor_escalations",
    "Privacy requests to sub-processors escalated, by reason: attempts_exhausted, deadline, "
    "refused, no_confirmation.",
    ["subprocessor", "reason"],
)
confirmations_total: Final = Counter(
    "byggrygg_subprocessor_confirmations",
    "Verified sub-processor callbacks confirming a privacy request.",
    ["subprocessor"],
)
deliveries_by_state: Final = Gauge(
    "byggrygg_subprocessor_deliveries",
    "Privacy requests to sub-processors by state (escalated ones need an operator).",
    ["state"],
)

# HeiHallo's agreement, as registered on first start (R12).
HEIHALLO_AGREEMENT_REFERENCE: Final = "DPA-HeiHallo-2024-01"
HEIHALLO_AGREEMENT_DATE: Final = date(2024, 1, 15)
HEIHALLO_CATEGORIES: Final = (DataCategory.IDENTITY, DataCategory.CONTACT)
# An access export is one person's record at one sub-processor: generous, but bounded.
MAX_CALLBACK_BYTES: Final = 1024 * 1024

# NOTIFY channel of new deliveries: the worker wakes at the commit instead of its next poll.
DELIVERY_CHANNEL: Final = "byggrygg_subprocessor_deliveries"

# The request workflow's step for a new confirmation, run in the callback's transaction.
OnConfirmed = Callable[[asyncpg.Connection, Confirmation], Awaitable[None]]


@dataclass(frozen=True)
class SubProcessorContext:
    """What the sub-processor handlers and the delivery worker need (built in bootstrap)."""

    pool: asyncpg.Pool
    client: WebhookClient
    store: SubProcessorStore = field(default_factory=SubProcessorStore)
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    clock: Clock = utc_now
    new_id: Callable[[], UUID] = uuid4


@dataclass(frozen=True, slots=True)
class SubProcessorFields:
    """What a caller gives to add or change an entry (validated here)."""

    name: str
    organisation_number: str
    data_categories: tuple[DataCategory, ...]
    agreement_reference: str
    agreement_date: date
    endpoint_url: str
    signing_secret_file: Path
    callback_secret_file: Path


def _validated(fields: SubProcessorFields) -> SubProcessorFields:
    if not fields.name.strip():
        raise InvalidSubProcessor("a sub-processor has a name")
    if not fields.data_categories:
        raise InvalidSubProcessor("a sub-processor receives at least one data category")
    if not fields.endpoint_url.startswith(("https://", "http://")):
        raise InvalidSubProcessor("the endpoint is an http(s) URL")
    return replace(
        fields,
        name=fields.name.strip(),
        organisation_number=organisation_number(fields.organisation_number),
        data_categories=tuple(dict.fromkeys(fields.data_categories)),
    )


# --- the register ----------------------------------------------------------------------------
async def list_subprocessors(ctx: SubProcessorContext) -> list[SubProcessor]:
    async with ctx.pool.acquire() as conn:
        return await ctx.store.all(conn)


async def get_subprocessor(ctx: SubProcessorContext, subprocessor_id: UUID) -> SubProcessor:
    async with ctx.pool.acquire() as conn:
        found = await ctx.store.get(conn, subprocessor_id)
    if found is None:
        raise SubProcessorNotFound()
    return found


async def add_subprocessor(ctx: SubProcessorContext, fields: SubProcessorFields) -> SubProcessor:
    checked = _validated(fields)
    now = ctx.clock()
    entry = SubProcessor(
        id=ctx.new_id(),
        **{name: getattr(checked, name) for name in SubProcessorFields.__slots__},
        version=1,
        created_at=now,
        updated_at=now,
    )
    async with transaction(ctx.pool) as conn:
        if not await ctx.store.insert(conn, entry):
            raise SubProcessorExists()
    return entry


async def update_subprocessor(
    ctx: SubProcessorContext, subprocessor_id: UUID, fields: SubProcessorFields, *, expected: int
) -> SubProcessor:
    checked = _validated(fields)
    async with transaction(ctx.pool) as conn:
        current = await ctx.store.get(conn, subprocessor_id)
        if current is None:
            raise SubProcessorNotFound()
        if current.version != expected:
            raise SubProcessorChanged()
        if await ctx.store.organisation_number_taken(
            conn, checked.organisation_number, other_than=subprocessor_id
        ):
            raise SubProcessorExists()
        changed = replace(
            current,
            **{name: getattr(checked, name) for name in SubProcessorFields.__slots__},
            version=current.version + 1,
            updated_at=ctx.clock(),
        )
        if not await ctx.store.update(conn, changed, expected=expected):
            raise SubProcessorChanged()
    return changed


async def seed_heihallo(
    ctx: SubProcessorContext,
    *,
    endpoint_url: str,
    signing_secret_file: Path,
    callback_secret_file: Path,
) -> bool:
    """Register HeiHallo (R12) unless its organisation number is there; whether it was added."""
    try:
        await add_subprocessor(
            ctx,
            SubProcessorFields(
                name=HEIHALLO_NAME,
                organisation_number=HEIHALLO_ORGANISATION_NUMBER,
                data_categories=HEIHALLO_CATEGORIES,
                agreement_reference=HEIHALLO_AGREEMENT_REFERENCE,
                agreement_date=HEIHALLO_AGREEMENT_DATE,
                endpoint_url=endpoint_url,
                signing_secret_file=signing_secret_file,
                callback_secret_file=callback_secret_file,
            ),
        )
    except SubProcessorExists:
        return False
    return True


# --- out: the outbox and its worker --------------------------------------------------------------
async def send_privacy_request(
    conn: asyncpg.Connection,
    ctx: SubProcessorContext,
    subprocessor_id: UUID,
    *,
    request_id: UUID,
    action: PrivacyAction,
    subject_ref: str,
    callback_url: str,
    changes: dict[str, Any] | None = None,
) -> UUID:
    """Queue a signed request to a sub-processor in the caller's transaction; the delivery id.

    Sent by the delivery worker once that transaction commits. Idempotent: the same
    (sub-processor, request, action) again returns the first delivery's id.
    """
    if not conn.is_in_transaction():
        raise RuntimeError("send_privacy_request belongs in the caller's transaction")
    now = ctx.clock()
    delivery_id = ctx.new_id()
    # One statement checks the register, writes the delivery and notifies the worker: the
    # fan-out already read the register (a contract end files thousands of these).
    added = await ctx.store.add_delivery(
        conn,
        notify_channel=DELIVERY_CHANNEL,
        delivery_id=delivery_id,
        subprocessor_id=subprocessor_id,
        request_id=request_id,
        action=action,
        subject_ref=subject_ref,
        changes=changes,
        callback_url=callback_url,
        webhook_id=f"msg_{delivery_id.hex}",
        now=now,
        deadline=now + ctx.policy.delivery_deadline,
    )
    if added is None:
        raise SubProcessorNotFound()
    return added


class DeliveryWorker:
    """Sends due deliveries, up to ``concurrency`` at once, each inside a transaction that
    locks its row (``SKIP LOCKED``: two senders, in this process or another orchestrator's,
    never send the same attempt), and escalates what ran out.

    Each sender holds a pooled connection while its request is on the wire, so
    ``concurrency`` stays well below the pool's size (the replies consumer and the API need
    connections too). The HTTP client is the context's one, shared (keep-alive)."""

    def __init__(
        self, ctx: SubProcessorContext, *, poll_interval: float = 0.5, concurrency: int = 1
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency is at least 1")
        self._ctx = ctx
        self._poll_interval = poll_interval
        self._concurrency = concurrency

    async def deliver_due(self) -> int:
        """Attempt every delivery due now; how many attempts were made."""
        await self._resend_unconfirmed()
        # A TaskGroup: should one sender fail, the others are cancelled (their transactions
        # roll back, their rows are due again) before the pass reports the failure.
        async with asyncio.TaskGroup() as group:
            senders = [
                group.create_task(self._deliver_until_none_due()) for _ in range(self._concurrency)
            ]
        made = sum(sender.result() for sender in senders)
        await self._escalate_unconfirmed()
        await self._update_gauge()
        return made

    async def _deliver_until_none_due(self) -> int:
        made = 0
        while await self._deliver_one():
            made += 1
        return made

    async def _resend_unconfirmed(self) -> None:
        """Accepted but never confirmed within ``resend_unconfirmed_after``: send it again as
        a new message. Their callback may have been lost (we were down while they retried);
        a sub-processor confirms a request sent again under its first confirmation's id, so a
        confirmation that did arrive is refused as a replay and nothing is recorded twice.
        A rectification's changes were cleared at acceptance: the new message carries none
        (they were applied when it was accepted)."""
        ctx = self._ctx
        now = ctx.clock()
        async with transaction(ctx.pool) as conn:
            for delivery_id in await ctx.store.unconfirmed_to_resend(
                conn, last_attempt_before=now - ctx.policy.resend_unconfirmed_after
            ):
                await ctx.store.requeue(
                    conn,
                    delivery_id,
                    webhook_id=f"msg_{ctx.new_id().hex}",
                    now=now,
                    deadline=now + ctx.policy.delivery_deadline,
                )
                log.info("sub-processor request unconfirmed, sent again: delivery=%s", delivery_id)

    async def run(self, stop: asyncio.Event) -> None:
        async with notified(
            self._ctx.pool, DELIVERY_CHANNEL, logger=log, what="sub-processor deliveries"
        ) as wake:
            while not stop.is_set():
                wake.clear()
                try:
                    made = await self.deliver_due()
                except Exception as error:  # the worker outlives any one bad pass
                    log.warning("sub-processor delivery pass failed: %s", _names(error))
                    made = 0
                if made == 0:
                    await wait_for_any(stop, wake, self._poll_interval)

    async def _deliver_one(self) -> bool:
        ctx = self._ctx
        policy = ctx.policy
        async with transaction(ctx.pool) as conn:
            row = await ctx.store.due_delivery(conn, ctx.clock())
            if row is None:
                return False
            name = row["subprocessor_name"]
            now = ctx.clock()
            if now >= row["deadline"]:
                await self._escalate(conn, row, "deadline", row["last_status"], row["last_error"])
                return True
            attempt = row["attempts"] + 1
            body = request_body(
                action=PrivacyAction(row["action"]),
                request_id=row["request_id"],
                subject_ref=row["subject_ref"],
                callback_url=row["callback_url"],
                changes=row["changes"],
                now=now,
            )
            result = await ctx.client.send(
                endpoint_url=row["endpoint_url"],
                secret_file=Path(row["signing_secret_file"]),
                webhook_id=row["webhook_id"],
                body=body,
            )
            done_at = ctx.clock()
            if result.accepted:
                outcome, state, reason = "accepted", DeliveryState.DELIVERED, None
            elif result.refused:
                outcome, state, reason = "refused", DeliveryState.ESCALATED, "refused"
            elif attempt >= policy.max_attempts:
                outcome, state, reason = "retry", DeliveryState.ESCALATED, "attempts_exhausted"
            else:
                outcome, state, reason = "retry", DeliveryState.PENDING, None
            await ctx.store.record_attempt(
                conn,
                delivery_id=row["id"],
                attempt=attempt,
                at=done_at,
                status=result.status,
                error=result.error,
                outcome=outcome,
            )
            await ctx.store.set_delivery_state(
                conn,
                row["id"],
                state=state,
                attempts=attempt,
                next_attempt_at=done_at + policy.backoff(attempt),
                last_status=result.status,
                last_error=result.error,
                at=done_at,
                escalation_reason=reason,
            )
        delivery_attempts_total.labels(subprocessor=name, outcome=outcome).inc()
        if reason is not None:
            escalations_total.labels(subprocessor=name, reason=reason).inc()
            log.warning("sub-processor request escalated: delivery=%s reason=%s", row["id"], reason)
        return True

    async def _escalate(
        self,
        conn: asyncpg.Connection,
        row: asyncpg.Record,
        reason: str,
        status: int | None,
        error: str | None,
    ) -> None:
        now = self._ctx.clock()
        await self._ctx.store.set_delivery_state(
            conn,
            row["id"],
            state=DeliveryState.ESCALATED,
            attempts=row["attempts"],
            next_attempt_at=now,
            last_status=status,
            last_error=error,
            at=now,
            escalation_reason=reason,
        )
        escalations_total.labels(subprocessor=row["subprocessor_name"], reason=reason).inc()

    async def _escalate_unconfirmed(self) -> None:
        ctx = self._ctx
        now = ctx.clock()
        async with transaction(ctx.pool) as conn:
            names = await ctx.store.escalate_unconfirmed(
                conn, accepted_before=now - ctx.policy.confirmation_deadline, now=now
            )
        for name in names:
            escalations_total.labels(subprocessor=name, reason="no_confirmation").inc()

    async def _update_gauge(self) -> None:
        async with self._ctx.pool.acquire() as conn:
            counts = await self._ctx.store.count_by_state(conn)
        for state in DeliveryState:
            deliveries_by_state.labels(state=str(state)).set(counts.get(str(state), 0))


def _names(error: Exception) -> str:
    """The class names of a failed pass's errors (a sender's, or several in a group)."""
    if isinstance(error, ExceptionGroup):
        return ", ".join(sorted({type(inner).__name__ for inner in error.exceptions}))
    return type(error).__name__


async def deliveries(
    ctx: SubProcessorContext,
    *,
    request_id: UUID | None = None,
    state: DeliveryState | None = None,
    delivery_id: UUID | None = None,
) -> list[dict[str, Any]]:
    """Deliveries with their attempts, for staff (subject refs left out)."""
    async with ctx.pool.acquire() as conn:
        rows = await ctx.store.deliveries(
            conn, request_id=request_id, state=state, delivery_id=delivery_id
        )
        found: list[dict[str, Any]] = []
        for row in rows:
            item = {k: row[k] for k in row.keys() if k not in {"subject_ref", "changes"}}  # noqa: SIM118
            item["attempt_log"] = [dict(a) for a in await ctx.store.attempts(conn, row["id"])]
            found.append(item)
    return found


# --- in: verified callbacks -------------------------------------------------------------------
class _Counts(BaseModel):
    model_config = ConfigDict(extra="ignore")
    records: int = Field(ge=0, le=2**31 - 1)
    fields: int = Field(ge=0, le=2**31 - 1)


class _CallbackData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    request_id: UUID
    subject_ref: str = Field(min_length=1, max_length=200)
    action: PrivacyAction
    outcome: str = Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")
    counts: _Counts
    completed_at: datetime | None = None
    export: dict[str, Any] | None = None


class _Callback(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str = Field(max_length=100)
    data: _CallbackData


def _malformed(why: str) -> MalformedWebhook:
    webhook_rejections_total.labels(reason=MalformedWebhook.reason).inc()
    return MalformedWebhook(why)


async def receive_callback(
    ctx: SubProcessorContext,
    subprocessor_id: UUID,
    body: bytes,
    headers: Mapping[str, str],
    *,
    on_confirmed: OnConfirmed | None = None,
) -> Confirmation:
    """Verify and record a sub-processor's confirmation (R13); a new one is passed to
    ``on_confirmed`` in the same transaction (its failure stores nothing: the sub-processor's
    retry finds everything as before).

    Raises the `byggrygg_shared.webhooks` rejections (counted): MalformedWebhook (400),
    BadSignature or StaleTimestamp (401), ReplayedWebhook (409); SubProcessorNotFound,
    UnknownPrivacyRequest. Nothing is stored unless every check passes.
    """
    async with ctx.pool.acquire() as conn:
        entry = await ctx.store.get(conn, subprocessor_id)
    if entry is None:
        raise SubProcessorNotFound()
    if len(body) > MAX_CALLBACK_BYTES:
        raise _malformed("the callback is too large")
    secrets = await SECRET_FILES.read(entry.callback_secret_file)
    verifier = WebhookVerifier(secrets, clock=ctx.clock)
    async with transaction(ctx.pool) as conn:
        message = await verifier.verify_once(body, headers, PostgresWebhookReceipts(conn))
        try:
            payload = _Callback.model_validate(message.json())
        except ValidationError:
            raise _malformed("the callback's body is not a confirmation") from None
        data = payload.data
        if payload.type != f"privacy.{data.action}.completed":
            raise _malformed("the callback's type does not match its action")
        delivery = await ctx.store.delivery_for(
            conn, subprocessor_id=entry.id, request_id=data.request_id, action=data.action
        )
        if delivery is None or delivery["subject_ref"] != data.subject_ref:
            raise UnknownPrivacyRequest()
        confirmation = Confirmation(
            subprocessor_id=entry.id,
            subprocessor_name=entry.name,
            organisation_number=entry.organisation_number,
            request_id=data.request_id,
            action=data.action,
            outcome=data.outcome,
            records=data.counts.records,
            fields=data.counts.fields,
            completed_at=data.completed_at,
            confirmed_at=ctx.clock(),
            webhook_id=message.webhook_id,
            export=data.export,
        )
        if (
            await ctx.store.add_confirmation(conn, confirmation, delivery_id=delivery["id"])
            and on_confirmed is not None
        ):
            await on_confirmed(conn, confirmation)
    confirmations_total.labels(subprocessor=entry.name).inc()
    return confirmation


async def confirmations_for(conn: asyncpg.Connection, request_id: UUID) -> list[Confirmation]:
    """Every sub-processor's verified confirmation of ``request_id`` (for the request workflow)."""
    return await SubProcessorStore().confirmations_for(conn, request_id)
