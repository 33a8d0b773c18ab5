"""Courses' Kafka consumers: identity's user topic (licences, R6, R7) and the privacy
orchestrator's commands (R6, R14, R16).

The privacy commands (``privacy.commands.courses.v1``) are run by the shared
``byggrygg_shared.participant.Participant`` with courses' effects
(``service_layer.privacy_commands``): inbox claim, effects and reply in one transaction.

One subscriber on ``identity.user.v1`` (group ``courses`` by default, from the earliest offset,
so a new deployment learns every licence granted so far). It translates a message into a
command: ``LicenceGranted`` -> ``handle_licence_granted``; ``LicenceRevoked`` and
``SubscriptionCancelled`` -> ``handle_access_ended``. Every other event on the topic
(``UserCreated``, ``UserProfileCorrected``, ...) is acknowledged and ignored without decoding
its payload. Delivery is at least once; the handlers are idempotent (inbox). Failures are
retried and then dead-lettered by ``messaging.RetryThenDeadLetter`` (via ``make_broker``).
"""

from __future__ import annotations

import logging
from typing import Final

from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.broker.registrator import KafkaRegistrator

from byggrygg_shared.contracts import identity
from byggrygg_shared.correlation import bound_correlation_id
from byggrygg_shared.messaging import event_from_message
from byggrygg_shared.participant import Participant, register_participant
from byggrygg_shared.subscriptions import RegisterSubscribers
from courses.service_layer.context import Dependencies
from courses.service_layer.licences import handle_access_ended, handle_licence_granted

logger = logging.getLogger(__name__)

HANDLED: Final = frozenset(
    {
        identity.LicenceGranted.ce_type(),
        identity.LicenceRevoked.ce_type(),
        identity.SubscriptionCancelled.ce_type(),
    }
)


def register_consumers(
    deps: Dependencies,
    *,
    user_topic: str,
    group_id: str,
    participant: Participant | None = None,
    privacy_command_topic: str | None = None,
) -> RegisterSubscribers:
    """The function that registers courses' subscribers on a (new) broker; the privacy
    participant's too when given (on ``privacy_command_topic``, else its default topic)."""

    def register(broker: KafkaRegistrator) -> None:
        if participant is not None:
            register_participant(
                broker, participant, group_id=group_id, topic=privacy_command_topic
            )

        @broker.subscriber(user_topic, group_id=group_id, auto_offset_reset="earliest")
        async def on_user_event(message: KafkaMessage) -> None:
            received = event_from_message(message)
            if received.type not in HANDLED:
                return  # not ours to act on: acknowledged, nothing written
            with bound_correlation_id(received.correlation_id):
                contract = received.contract()
                match contract:
                    case identity.LicenceGranted():
                        applied = await handle_licence_granted(
                            deps=deps, event=contract, received=received
                        )
                    case identity.LicenceRevoked() | identity.SubscriptionCancelled():
                        applied = await handle_access_ended(
                            deps=deps, event=contract, received=received
                        )
                    case _:
                        return
                logger.info(
                    "%s %s for %s",
                    received.type,
                    "applied" if applied else "already applied",
                    received.subject,
                )

    return register
