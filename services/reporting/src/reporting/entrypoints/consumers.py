"""Reporting's Kafka subscribers: each translates a message into a projection or a command.

`register_consumers(runtime)` returns the function `byggrygg_shared.subscriptions` calls on
every new broker to add the subscribers; bootstrap runs them beside the API.

- ``courses.catalogue.v1`` and ``courses.enrolment.v1``: every event goes through
  ``service_layer.projection.apply_event`` in a transaction of its own (idempotent upserts:
  a redelivery changes nothing). Events reporting does not project are passed over.
- ``privacy.commands.reporting.v1``: the privacy orchestrator's commands, run by the shared
  ``byggrygg_shared.participant.Participant`` with reporting's effects
  (``service_layer.privacy_commands``): inbox claim, effects and reply in one transaction.
- ``privacy.requests.v1`` and ``privacy.replies.v1`` (``register_ops_consumers``): the ops
  read model (``service_layer.ops_projection.apply_ops_event``, idempotent upserts, a
  transaction each).

A served reporting registers all of them (``register_all_consumers``); tests register the
groups they exercise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.broker.registrator import KafkaRegistrator

from byggrygg_shared.correlation import bound_correlation_id
from byggrygg_shared.db import transaction
from byggrygg_shared.messaging import event_from_message
from byggrygg_shared.participant import register_participant
from byggrygg_shared.subscriptions import RegisterSubscribers
from reporting.service_layer.ops_projection import apply_ops_event
from reporting.service_layer.projection import apply_event

if TYPE_CHECKING:
    from reporting.bootstrap import Runtime


def register_consumers(
    runtime: Runtime,
    *,
    group_id: str | None = None,
    catalogue_topic: str | None = None,
    enrolment_topic: str | None = None,
    privacy_command_topic: str | None = None,
) -> RegisterSubscribers:
    """The subscribers of reporting, bound to the runtime's pool; topics and group default to
    the runtime's settings (tests pass their own)."""
    settings = runtime.settings
    pool = runtime.pool
    group = group_id or settings.reporting_consumer_group

    async def project(message: KafkaMessage) -> None:
        event = event_from_message(message)
        with bound_correlation_id(event.correlation_id):
            async with transaction(pool) as conn:
                await apply_event(conn, event)

    def register(broker: KafkaRegistrator) -> None:
        # One subscriber for both topics (one handler registered twice would be one).
        broker.subscriber(
            catalogue_topic or settings.reporting_catalogue_topic,
            enrolment_topic or settings.reporting_enrolment_topic,
            group_id=group,
            auto_offset_reset="earliest",
        )(project)

        register_participant(
            broker,
            runtime.participant,
            group_id=group,
            topic=privacy_command_topic or settings.reporting_privacy_command_topic,
        )

    return register


# --- the ops read model's subscriber ---------------------------------------------
def register_ops_consumers(
    runtime: Runtime,
    *,
    group_id: str | None = None,
    requests_topic: str | None = None,
    replies_topic: str | None = None,
) -> RegisterSubscribers:
    """The ops read model's subscriber (privacy.requests.v1 and privacy.replies.v1), bound to
    the runtime's pool; topics and group default to the runtime's settings."""
    settings = runtime.settings
    pool = runtime.pool

    async def project_ops(message: KafkaMessage) -> None:
        event = event_from_message(message)
        with bound_correlation_id(event.correlation_id):
            async with transaction(pool) as conn:
                await apply_ops_event(conn, event)

    def register(broker: KafkaRegistrator) -> None:
        broker.subscriber(
            requests_topic or settings.reporting_requests_topic,
            replies_topic or settings.reporting_replies_topic,
            group_id=group_id or settings.reporting_consumer_group,
            auto_offset_reset="earliest",
        )(project_ops)

    return register


def register_all_consumers(runtime: Runtime) -> RegisterSubscribers:
    """Every subscriber of a served reporting: the read models', the participant's, ops'."""
    read_models = register_consumers(runtime)
    ops = register_ops_consumers(runtime)

    def register(broker: KafkaRegistrator) -> None:
        read_models(broker)
        ops(broker)

    return register
