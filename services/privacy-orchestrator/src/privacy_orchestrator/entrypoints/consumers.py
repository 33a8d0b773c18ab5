"""The orchestrator's Kafka consumers: the participants' replies, and identity's events that
trigger erasures (R2, R6).

- ``privacy.replies.v1``: each ``ParticipantReplied`` is recorded on its request
  (``service_layer.requests.record_reply``, inbox-claimed in the same transaction); the last one
  completes the request and appends its completion record.
- ``identity.user.v1``: ``LicenceRevoked`` and ``SubscriptionCancelled`` file the subject's
  erasure at once; ``UserCreated`` and ``LicenceGranted`` list the subject in its
  organisation's directory, ``UserErased`` removes it (``service_layer.triggers``).
- ``identity.organisation.v1``: ``ContractEnded`` records the contract end and its export offer
  (art. 28(3)(g)); the retention scheduler files the erasures when the offer is over.
- ``consent.complaint.v1``: ``ComplaintOpened`` places a legal hold, ``ComplaintResolved``
  releases it and erases what the subject's last erasure kept (R16, R21).

All in the orchestrator's consumer group, from the earliest offset (a new deployment learns
every subject listed so far). Other event types are acknowledged and ignored without decoding
their payload. Delivery is at least once; every handler is idempotent (inbox); failures are
retried, then dead-lettered (``messaging.make_broker``).
"""

from __future__ import annotations

from typing import Final

from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.broker.registrator import KafkaRegistrator

from byggrygg_shared.contracts import correspondence, identity
from byggrygg_shared.contracts.privacy import ParticipantReplied
from byggrygg_shared.correlation import bound_correlation_id
from byggrygg_shared.messaging import event_from_message
from byggrygg_shared.subscriptions import RegisterSubscribers
from privacy_orchestrator.service_layer import triggers
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.requests import record_reply
from privacy_orchestrator.service_layer.triggers import TriggerSettings

USER_EVENTS: Final = frozenset(
    {
        identity.LicenceRevoked.ce_type(),
        identity.SubscriptionCancelled.ce_type(),
        identity.UserCreated.ce_type(),
        identity.LicenceGranted.ce_type(),
        identity.UserErased.ce_type(),
    }
)


COMPLAINT_EVENTS: Final = frozenset(
    {correspondence.ComplaintOpened.ce_type(), correspondence.ComplaintResolved.ce_type()}
)


def register_consumers(
    deps: Dependencies,
    *,
    replies_topic: str,
    group_id: str,
    triggers_from: TriggerSettings | None = None,
) -> RegisterSubscribers:
    """The function that registers the orchestrator's subscribers on a (new) broker; identity's
    topics too when `triggers_from` names them."""

    def register(broker: KafkaRegistrator) -> None:
        @broker.subscriber(replies_topic, group_id=group_id, auto_offset_reset="earliest")
        async def on_reply(message: KafkaMessage) -> None:
            received = event_from_message(message)
            if received.type != ParticipantReplied.ce_type():
                return
            reply = received.contract()
            if not isinstance(reply, ParticipantReplied):
                return
            with bound_correlation_id(received.correlation_id):
                await record_reply(deps, reply, received)

        if triggers_from is not None:
            register_trigger_consumers(broker, deps, triggers_from, group_id=group_id)

    return register


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
                case identity.UserErased() as erased:
                    await triggers.forget_erased_subject(deps, erased, received)
                case _:
                    return

    @broker.subscriber(settings.organisation_topic, group_id=group_id, auto_offset_reset="earliest")
    async def on_organisation_event(message: KafkaMessage) -> None:
        received = event_from_message(message)
        if received.type != identity.ContractEnded.ce_type():
            return
        ended = received.contract()
        if not isinstance(ended, identity.ContractEnded):
            return
        with bound_correlation_id(received.correlation_id):
            await triggers.record_contract_end(
                deps, ended, received, offer_days=settings.export_offer_days
            )

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
                case _:
                    return
