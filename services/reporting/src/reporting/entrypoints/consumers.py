"""Reporting's Kafka subscribers: each translates a message into a projection or a command.

`register_consumers(runtime)` returns the function `byggrygg_shared.subscriptions` calls on
every new broker to add the subscribers; bootstrap runs them beside the API.

- ``courses.catalogue.v1`` and ``courses.enrolment.v1``: read in batches (up to
  ``BATCH_MAX_RECORDS``, whatever is there, never waited for); each batch is decoded and
  applied in ONE transaction (``service_layer.projection``, the rebuild's code path:
  idempotent upserts, so a batch read again changes nothing), and its offsets are committed
  once, after that transaction committed (``NACK_ON_ERROR``; a kill -9 before it re-reads the
  batch). A record that cannot be read or stored goes alone to ``<topic>.dlq``; the rest of
  the batch is projected. A batch that fails for another reason than the infrastructure (a
  bug a record triggers) is retried with the broker's attempts and back-off, then applied
  record by record, and the records that still fail go alone to ``<topic>.dlq``
  (``service_layer.batch_attempts``). A failure of the infrastructure (the database, the
  connection) raises: the batch is retried, then read again, nothing skipped and nothing
  dead-lettered. Events reporting does not project are passed over.
- ``privacy.commands.reporting.v1``: the privacy orchestrator's commands, run by the shared
  ``byggrygg_shared.participant.Participant`` with reporting's effects
  (``service_layer.privacy_commands``): inbox claim, effects and reply in one transaction.
- ``privacy.requests.v1`` and ``privacy.replies.v1`` (``register_ops_consumers``): the ops
  read model, batched the same way (``service_layer.ops_projection``).

Consumer groups: each of the three subscribers has a group of its own, named after the
service's (``participant_group``, ``ops_group``; the read models' keeps the service's name).
In one shared group, every member that joins rebalances the others: the read models'
consumer, joined first, lost its partitions when the participant joined and got them back
only at its next heartbeat (about 3 s without projecting, at every start). Nothing depends on
their sharing a group: each reads topics of its own, commits its own offsets, and the ops
page lists the lag per group whatever the groups are called.

A served reporting registers all of them (``register_all_consumers``); tests register the
groups they exercise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg
from aiokafka import ConsumerRecord
from faststream.kafka.annotations import KafkaBroker, KafkaMessage
from faststream.kafka.broker.registrator import KafkaRegistrator

from byggrygg_shared.messaging import (
    RetryThenDeadLetter,
    dead_letter_record,
    records_as_body,
    retry_policy,
)
from byggrygg_shared.metrics import record_batch_lag
from byggrygg_shared.participant import register_participant
from byggrygg_shared.subscriptions import RegisterSubscribers
from reporting.service_layer.batch_attempts import apply_with_attempts
from reporting.service_layer.projection import (
    BATCH_MAX_RECORDS,
    COURSE_EVENT_TYPES,
    OPS_EVENT_TYPES,
    decode_records,
)

if TYPE_CHECKING:
    from reporting.bootstrap import Runtime


Records = tuple[ConsumerRecord[Any, Any], ...]


def participant_group(group: str) -> str:
    """The privacy participant's consumer group, beside the read models' ``group``."""
    return f"{group}.privacy-commands"


def ops_group(group: str) -> str:
    """The ops read model's consumer group, beside the read models' ``group``."""
    return f"{group}.ops"


async def project_records(
    pool: asyncpg.Pool,
    records: Records,
    accepted: frozenset[str],
    publisher: KafkaBroker,
    *,
    group_id: str,
    retries: RetryThenDeadLetter | None = None,
) -> None:
    """Project a fetched batch in one transaction (several attempts if it fails for a bug,
    with ``retries``' settings: the broker's by default); then dead-letter, each alone, the
    records that could not be read, stored or applied. Raises (the batch is read again,
    nothing committed, nothing dead-lettered) if the database fails or a dead letter does."""
    policy = retries or retry_policy(publisher)
    decoded = decode_records(records, accepted)
    refused = await apply_with_attempts(
        pool,
        decoded.items,
        max_attempts=policy.max_attempts,
        backoff=policy.backoff,
        sleep=policy.sleep,
    )
    # After the commit: a crash in between reads the batch again, and the projection is
    # idempotent (at worst a record is dead-lettered twice, never lost).
    for rejected in sorted((*decoded.unreadable, *refused), key=lambda r: r.position):
        await dead_letter_record(
            publisher,
            records[rejected.position],
            rejected.error,
            attempts=rejected.attempts,
            consumer_group=group_id,
        )


def register_consumers(
    runtime: Runtime,
    *,
    group_id: str | None = None,
    catalogue_topic: str | None = None,
    enrolment_topic: str | None = None,
    privacy_command_topic: str | None = None,
) -> RegisterSubscribers:
    """The subscribers of reporting, bound to the runtime's pool; topics and group default to
    the runtime's settings (tests pass their own). The read models' subscriber reads in
    ``group``, the participant in ``participant_group(group)``."""
    settings = runtime.settings
    pool = runtime.pool
    group = group_id or settings.reporting_consumer_group

    async def project(message: KafkaMessage, publisher: KafkaBroker) -> None:
        records: Records = message.raw_message
        await project_records(pool, records, COURSE_EVENT_TYPES, publisher, group_id=group)
        # the per-message middleware never sees a batch's records.
        record_batch_lag(message.consumer, group, records)

    def register(broker: KafkaRegistrator) -> None:
        # One subscriber for both topics (one handler registered twice would be one).
        broker.subscriber(
            catalogue_topic or settings.reporting_catalogue_topic,
            enrolment_topic or settings.reporting_enrolment_topic,
            group_id=group,
            auto_offset_reset="earliest",
            batch=True,
            max_records=BATCH_MAX_RECORDS,
            decoder=records_as_body,
        )(project)

        register_participant(
            broker,
            runtime.participant,
            group_id=participant_group(group),
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
    the runtime's pool; topics default to the runtime's settings, the group to
    ``ops_group`` of the service's."""
    settings = runtime.settings
    pool = runtime.pool
    group = group_id or ops_group(settings.reporting_consumer_group)

    async def project_ops(message: KafkaMessage, publisher: KafkaBroker) -> None:
        records: Records = message.raw_message
        await project_records(pool, records, OPS_EVENT_TYPES, publisher, group_id=group)
        record_batch_lag(message.consumer, group, records)

    def register(broker: KafkaRegistrator) -> None:
        broker.subscriber(
            requests_topic or settings.reporting_requests_topic,
            replies_topic or settings.reporting_replies_topic,
            group_id=group,
            auto_offset_reset="earliest",
            batch=True,
            max_records=BATCH_MAX_RECORDS,
            decoder=records_as_body,
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
