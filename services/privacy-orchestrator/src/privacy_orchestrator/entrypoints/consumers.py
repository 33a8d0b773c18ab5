"""The orchestrator's Kafka consumers: the participants' replies, and identity's events that
trigger erasures (R2, R6).

- ``privacy.replies.v1``: read in batches (up to ``ReplyBatching.max_records``); the batch's
  ``ParticipantReplied`` are recorded request by request, several requests at once
  (``service_layer.reply_batches``: each request's replies in one transaction with their inbox
  claims; the last one completes the request and appends its completion record). The batch's
  offsets are committed once the whole batch is recorded. A record that is not a valid reply,
  or whose request still fails after the retries, goes alone to ``<topic>.dlq``; the rest of
  the batch is recorded. Should even that fail, the batch is read again (nothing recorded
  twice: inbox).
- ``identity.user.v1``: ``LicenceRevoked`` and ``SubscriptionCancelled`` file the subject's
  erasure at once; ``UserCreated`` and ``LicenceGranted`` list the subject in its
  organisation's directory (with the e-mail token an automatic erasure's R10 notice goes to;
  ``UserProfileCorrected`` replaces it), ``UserErased`` removes it
  (``service_layer.triggers``).
- ``identity.organisation.v1``: ``ContractEnded`` records the contract end and its export offer
  (art. 28(3)(g)), mailed to the contact persons ``ContactPersonAdded`` listed; the retention
  scheduler reminds them and files the erasures when the offer is over.
- ``consent.complaint.v1``: ``ComplaintOpened`` places a legal hold, ``ComplaintResolved``
  releases it and erases what the subject's last erasure kept (R16, R21);
  ``LegalClaimResolved`` erases what an ended customer's subjects' last erasures kept for its
  legal dispute (R2, R9).

All in the orchestrator's consumer group, from the earliest offset (a new deployment learns
every subject listed so far). Other event types are acknowledged and ignored without decoding
their payload. Delivery is at least once; every handler is idempotent (inbox); failures are
retried, then dead-lettered (``messaging.make_broker``; the replies' batches per request,
above).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Final

from aiokafka import ConsumerRecord
from faststream.kafka.annotations import KafkaBroker, KafkaMessage
from faststream.kafka.broker.registrator import KafkaRegistrator

from byggrygg_shared.contracts import correspondence, identity
from byggrygg_shared.contracts.privacy import ParticipantReplied
from byggrygg_shared.correlation import bound_correlation_id
from byggrygg_shared.envelope import from_kafka_record
from byggrygg_shared.messaging import PERMANENT_ERRORS, dead_letter_record, event_from_message
from byggrygg_shared.metrics import record_batch_lag
from byggrygg_shared.subscriptions import RegisterSubscribers
from privacy_orchestrator.service_layer import triggers
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.reply_batches import BatchPolicy, Reply, record_batch
from privacy_orchestrator.service_layer.triggers import TriggerSettings

logger = logging.getLogger(__name__)

USER_EVENTS: Final = frozenset(
    {
        identity.LicenceRevoked.ce_type(),
        identity.SubscriptionCancelled.ce_type(),
        identity.UserCreated.ce_type(),
        identity.LicenceGranted.ce_type(),
        identity.UserProfileCorrected.ce_type(),
        identity.UserErased.ce_type(),
    }
)


ORGANISATION_EVENTS: Final = frozenset(
    {identity.ContractEnded.ce_type(), identity.ContactPersonAdded.ce_type()}
)

COMPLAINT_EVENTS: Final = frozenset(
    {
        correspondence.ComplaintOpened.ce_type(),
        correspondence.ComplaintResolved.ce_type(),
        correspondence.LegalClaimResolved.ce_type(),
    }
)


@dataclass(frozen=True)
class ReplyBatching:
    """How the replies are read: up to ``max_records`` per batch (a batch is whatever is
    there, never waited for), recorded as ``policy`` says."""

    max_records: int = 500
    policy: BatchPolicy = field(default_factory=BatchPolicy)


def register_consumers(
    deps: Dependencies,
    *,
    replies_topic: str,
    group_id: str,
    triggers_from: TriggerSettings | None = None,
    batching: ReplyBatching | None = None,
) -> RegisterSubscribers:
    """The function that registers the orchestrator's subscribers on a (new) broker; identity's
    topics too when `triggers_from` names them."""
    reading = batching or ReplyBatching()

    def register(broker: KafkaRegistrator) -> None:
        @broker.subscriber(
            replies_topic,
            group_id=group_id,
            auto_offset_reset="earliest",
            batch=True,
            max_records=reading.max_records,
        )
        async def on_replies(message: KafkaMessage, publisher: KafkaBroker) -> None:
            records: tuple[ConsumerRecord[Any, Any], ...] = message.raw_message
            await record_reply_batch(deps, records, reading.policy, publisher, group_id=group_id)
            # the per-message middleware never sees a batch's records.
            record_batch_lag(message.consumer, group_id, records)

        if triggers_from is not None:
            register_trigger_consumers(broker, deps, triggers_from, group_id=group_id)

    return register


async def record_reply_batch(
    deps: Dependencies,
    records: tuple[ConsumerRecord[Any, Any], ...],
    policy: BatchPolicy,
    publisher: KafkaBroker,
    *,
    group_id: str,
) -> None:
    """Decode the batch's replies, record them request by request, dead-letter what cannot be
    decoded or recorded (each such record alone)."""
    replies: list[Reply] = []
    sources: list[ConsumerRecord[Any, Any]] = []
    for record in records:
        try:
            received = from_kafka_record(record.headers or (), record.value, key=record.key)
            if received.type != ParticipantReplied.ce_type():
                continue  # not ours to act on: acknowledged with the batch
            reply = received.contract()
        except PERMANENT_ERRORS as error:
            await _dead_letter(publisher, record, error, attempts=1, group_id=group_id)
            continue
        if isinstance(reply, ParticipantReplied):
            replies.append((reply, received))
            sources.append(record)
    if not replies:
        return
    outcome = await record_batch(deps, replies, policy=policy)
    for failed in outcome.failed:
        for position in failed.positions:
            await _dead_letter(
                publisher, sources[position], failed.error, failed.attempts, group_id=group_id
            )


async def _dead_letter(
    publisher: KafkaBroker,
    record: ConsumerRecord[Any, Any],
    error: BaseException,
    attempts: int,
    *,
    group_id: str,
) -> None:
    """``record`` to ``<topic>.dlq`` with the error (the platform's one dead-letter path);
    raises (and the batch is read again) if Kafka does not take it: a reply is never dropped
    silently."""
    await dead_letter_record(publisher, record, error, attempts=attempts, consumer_group=group_id)


def register_trigger_consumers(
    broker: KafkaRegistrator, deps: Dependencies, settings: TriggerSettings, *, group_id: str
) -> None:
    """The subscribers on identity's user and organisation topics and consent's complaints."""

    @broker.subscriber(settings.user_topic, group_id=group_id, auto_offset_reset="earliest")
    async def on_user_event(message: KafkaMessage) -> None:
        received = event_from_message(message)
        if received.type not in USER_EVENTS:
            return  # not ours to act on: acknowledged, nothing written
        with bound_correlation_id(received.correlation_id):
            match received.contract():
                case identity.LicenceRevoked() | identity.SubscriptionCancelled() as ended:
                    await triggers.erase_on_access_ended(deps, ended, received)
                case identity.UserCreated() | identity.LicenceGranted() as listed:
                    await triggers.list_subject(deps, listed, received)
                case identity.UserProfileCorrected() as corrected:
                    await triggers.correct_subject_email(deps, corrected, received)
                case identity.UserErased() as erased:
                    await triggers.forget_erased_subject(deps, erased, received)
                case _:
                    return

    @broker.subscriber(settings.organisation_topic, group_id=group_id, auto_offset_reset="earliest")
    async def on_organisation_event(message: KafkaMessage) -> None:
        received = event_from_message(message)
        if received.type not in ORGANISATION_EVENTS:
            return
        with bound_correlation_id(received.correlation_id):
            match received.contract():
                case identity.ContractEnded() as ended:
                    await triggers.record_contract_end(
                        deps, ended, received, offer_days=settings.export_offer_days
                    )
                case identity.ContactPersonAdded() as contact:
                    await triggers.list_contact(deps, contact, received)
                case _:
                    return

    @broker.subscriber(settings.complaint_topic, group_id=group_id, auto_offset_reset="earliest")
    async def on_complaint_event(message: KafkaMessage) -> None:
        received = event_from_message(message)
        if received.type not in COMPLAINT_EVENTS:
            return
        with bound_correlation_id(received.correlation_id):
            match received.contract():
                case correspondence.ComplaintOpened() as opened:
                    await triggers.hold_for_complaint(deps, opened, received)
                case correspondence.ComplaintResolved() as resolved:
                    await triggers.release_complaint_hold(deps, resolved, received)
                case correspondence.LegalClaimResolved() as claim_resolved:
                    await triggers.erase_what_a_legal_claim_kept(deps, claim_resolved, received)
                case _:
                    return
