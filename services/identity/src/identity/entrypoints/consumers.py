"""Identity's Kafka consumers: the privacy orchestrator's commands (R6, R14, R15, R16).

One subscriber, on ``privacy.commands.identity.v1`` (group ``identity`` by default), run by the
shared ``byggrygg_shared.participant.Participant`` with identity's effects
(``service_layer.privacy_commands``): inbox claim, effects and the reply in one transaction.
Failures are retried and then dead-lettered by ``messaging.RetryThenDeadLetter``.
"""

from __future__ import annotations

from faststream.kafka.broker.registrator import KafkaRegistrator

from byggrygg_shared.participant import Participant, register_participant
from byggrygg_shared.subscriptions import RegisterSubscribers


def register_consumers(
    participant: Participant, *, command_topic: str, group_id: str
) -> RegisterSubscribers:
    """The function that registers identity's subscribers on a (new) broker."""

    def register(broker: KafkaRegistrator) -> None:
        register_participant(broker, participant, group_id=group_id, topic=command_topic)

    return register
