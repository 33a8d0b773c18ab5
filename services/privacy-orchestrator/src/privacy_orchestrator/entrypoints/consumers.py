"""The orchestrator's Kafka consumer: the participants' replies on ``privacy.replies.v1``.

Each ``ParticipantReplied`` is recorded on its request (``service_layer.requests.record_reply``,
inbox-claimed in the same transaction); the last one completes the request and appends its
completion record. Other event types on the topic are acknowledged and ignored. Delivery is at
least once; failures are retried, then dead-lettered (``messaging.make_broker``).
"""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from byggrygg_shared.contracts.privacy import ParticipantReplied
from byggrygg_shared.correlation import bound_correlation_id
from byggrygg_shared.messaging import event_from_message
from byggrygg_shared.subscriptions import RegisterSubscribers
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.requests import record_reply


def register_consumers(
    deps: Dependencies, *, replies_topic: str, group_id: str
) -> RegisterSubscribers:
    """The function that registers the orchestrator's subscribers on a (new) broker."""

    def register(broker: KafkaBroker) -> None:
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

    return register
