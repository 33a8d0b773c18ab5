"""The participant side of the privacy orchestrator's commands, once for every service (DESIGN §5).

A service writes only its effects, as a ``ParticipantHandler`` (erase, anonymise, export,
rectify on a connection of its own database, returning ``Effects``: evidence, an export part,
whether to shred the subject's key). ``Participant`` does the rest, for a batch of commands
read from Kafka at once, in ONE transaction of the service's database:

1. ``inbox.claim_many`` on the CloudEvent ids: a redelivered command changes nothing; the reply
   recorded the first time is queued for the relay again (``EventStore.publish_again``, same
   event id), so a reply lost on its way is answered by the orchestrator's re-send;
2. each command's effects, in the order read;
3. key-ring work: each export part is encrypted under its subject's key; the keys the handlers
   asked to shred are shredded together (``KeyRing.shred_many``);
4. one ``ParticipantReplied`` per command appended to the service's own event store (stream
   ``privacy-reply-<request_id>``), so the outbox relay publishes it on ``privacy.replies.v1``
   only if the effects committed.

Why batches: a contract end sends each participant one command per person, thousands at once.
One transaction per batch instead of per command saves the commits, the inbox and key-ring
round trips and FastStream's dispatch per message (``docs/decisions.md``, "The contract end's
throughput"). A batch is all or nothing: when a command fails for a bug it triggers, the batch
is rolled back and its commands are applied one by one, each with the broker's attempts and
back-off, and exactly the ones that still fail are dead-lettered (``apply_command_batch``); a
failure of the infrastructure makes the batch be read again.

Order of the shred and the commit: the key ring is another database, so the two cannot commit
atomically. The shred happens BEFORE the service's transaction commits. A crash between the
two leaves the key shredded and the service's effects (and claim, and reply) rolled back; the
command is redelivered (its offset was not committed), the handler runs again on rows that are
still there and finishes the job, and shredding again is a no-op. The other order would be
unsafe: a crash after the commit would leave a recorded reply saying ``crypto_shredded`` while
the key still exists, and the redelivery, finding the claim taken, would not shred. Handlers
must therefore be idempotent and must not need the subject's key after the erasure
(evidence is built from the inventory, not from what the shred returned).

``register_participant`` adds the batch subscriber for ``privacy.commands.<service>.v1`` to a
service's broker (``byggrygg_shared.subscriptions``), in the consumer group the service names.
Helpers at the end build evidence from the service's ``DataInventory``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import asyncpg
from aiokafka import ConsumerRecord
from faststream.kafka.annotations import KafkaBroker, KafkaMessage
from faststream.kafka.broker.registrator import KafkaRegistrator

from byggrygg_shared.contracts.privacy import (
    AnonymiseSubject,
    EraseSubject,
    Evidence,
    EvidenceAction,
    ExportSubject,
    Hold,
    Outcome,
    ParticipantReplied,
    PrivacyCommand,
    RectifySubject,
    command_topic,
)
from byggrygg_shared.correlation import bound_correlation_id
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import EventMetadata, ReceivedEvent, from_kafka_record
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.failures import is_transient
from byggrygg_shared.inbox import claim_many
from byggrygg_shared.inventory import DataInventory, Erasure, Location, PersonalDataField
from byggrygg_shared.keyring import SubjectErased
from byggrygg_shared.messaging import (
    PERMANENT_ERRORS,
    RetryThenDeadLetter,
    dead_letter_record,
    records_as_body,
    retry_policy,
)
from byggrygg_shared.metrics import record_batch_lag
from byggrygg_shared.sources import Clock, IdSource, RandomIds, utc_now

__all__ = [
    "Effects",
    "MisroutedCommand",
    "Participant",
    "ParticipantHandler",
    "ParticipantKeyRing",
    "apply_command_batch",
    "evidence_of",
    "hold_covering",
    "kept_evidence",
    "register_participant",
    "reply_stream",
]

logger = logging.getLogger(__name__)

REPLY_STREAM_PREFIX: Final = "privacy-reply-"
# Commands applied per transaction: a contract end's burst of erasures costs one transaction,
# one inbox statement and one key-ring transaction per batch instead of per command.
COMMAND_BATCH_MAX_RECORDS: Final = 100


def reply_stream(request_id: object) -> str:
    """The event-store stream of a participant's replies to one request."""
    return f"{REPLY_STREAM_PREFIX}{request_id}"


class MisroutedCommand(ValueError):
    """A privacy command addressed to another participant arrived on this one's topic."""


@dataclass(frozen=True)
class Effects:
    """What a handler did: evidence (never data), the export part, and key-ring wishes.

    ``outcome`` defaults to ``partially_completed`` when anything was kept, else
    ``completed``. ``export`` is the participant's JSON export part in plain form; the
    participant encrypts it under the subject's key before it leaves the process.
    """

    evidence: tuple[Evidence, ...] = ()
    export: Mapping[str, Any] | None = None
    shred_key: bool = False
    outcome: Outcome | None = None

    def final_outcome(self) -> Outcome:
        if self.outcome is not None:
            return self.outcome
        kept = any(item.action == "kept" and item.count > 0 for item in self.evidence)
        return "partially_completed" if kept else "completed"


class ParticipantHandler(Protocol):
    """A service's effects of each privacy command, on a connection in the command's
    transaction. Each must be idempotent (a crash before commit makes it run again)."""

    async def erase(self, conn: asyncpg.Connection, command: EraseSubject) -> Effects: ...

    async def anonymise(self, conn: asyncpg.Connection, command: AnonymiseSubject) -> Effects: ...

    async def export(self, conn: asyncpg.Connection, command: ExportSubject) -> Effects: ...

    async def rectify(self, conn: asyncpg.Connection, command: RectifySubject) -> Effects: ...


class ParticipantKeyRing(Protocol):
    """The part of ``byggrygg_shared.keyring.KeyRing`` a participant uses."""

    async def encrypt(self, subject_ref: str, plaintext: str) -> str: ...

    async def shred_many(self, subject_refs: Sequence[str]) -> set[str]: ...


class Participant:
    """Applies privacy commands to one service and records its replies."""

    def __init__(
        self,
        *,
        service: str,
        pool: asyncpg.Pool,
        keyring: ParticipantKeyRing,
        handler: ParticipantHandler,
        store: EventStore | None = None,
        clock: Clock = utc_now,
        ids: IdSource | None = None,
    ) -> None:
        self.service = service
        self.consumer = f"{service}.privacy-commands"
        self._pool = pool
        self._keyring = keyring
        self._handler = handler
        self._store = store or EventStore()
        self._clock = clock
        self._ids = ids or RandomIds()

    async def handle(self, received: ReceivedEvent) -> ParticipantReplied | None:
        """Apply one command; the reply appended now, or None if it was applied before."""
        replies = await self.handle_batch([received])
        return replies[0] if replies else None

    async def handle_batch(self, received: Sequence[ReceivedEvent]) -> list[ParticipantReplied]:
        """Apply a batch of commands, in order, in ONE transaction; the replies appended now
        (a command applied before, or already in the batch, adds none)."""
        return await self.apply_commands([(self.command_of(event), event) for event in received])

    async def apply_commands(
        self, commands: Sequence[tuple[PrivacyCommand, ReceivedEvent]]
    ) -> list[ParticipantReplied]:
        """``handle_batch`` for commands already read (``command_of``) from their events.

        All or nothing: when one command fails, none is applied (the caller retries them one
        by one, ``apply_command_batch``). The batch's keys are shredded together, after every
        handler ran and before the commit (module docstring)."""
        applied: list[tuple[PrivacyCommand, ReceivedEvent, Effects, str | None]] = []
        async with transaction(self._pool) as conn:
            fresh = await claim_many(
                conn, consumer=self.consumer, event_ids=[event.id for _, event in commands]
            )
            seen: set[str] = set()
            for command, event in commands:
                if event.id in seen:
                    continue  # the same command twice in one batch: applied once
                seen.add(event.id)
                if event.id not in fresh:
                    # Applied before. The command may come again because its reply never
                    # reached the orchestrator (its time-out re-sends the same command): the
                    # recorded reply goes out once more, same event id, so the orchestrator's
                    # inbox records it at most once.
                    await self._store.publish_again(
                        conn, stream_id=reply_stream(command.request_id), caused_by=event.id
                    )
                    continue
                # The handler's own events are correlated with the command's request.
                with bound_correlation_id(event.correlation_id):
                    effects = await self._apply(conn, command)
                export = await self._export_token(command.subject_ref, effects)
                applied.append((command, event, effects, export))
            shred = [command.subject_ref for command, _, effects, _ in applied if effects.shred_key]
            if shred:
                # Before the commit (module docstring): a crash in between is redelivered.
                await self._keyring.shred_many(shred)
            replies = [
                await self._append_reply(conn, command, event, effects, export)
                for command, event, effects, export in applied
            ]
        for reply in replies:
            logger.info(
                "%s: %s for request %s: %s",
                self.service,
                reply.command,
                reply.request_id,
                reply.outcome,
            )
        return replies

    def command_of(self, received: ReceivedEvent) -> PrivacyCommand:
        """The privacy command ``received`` carries for this participant (else raises:
        ``MisroutedCommand``, or the envelope's own errors for a payload that does not
        validate)."""
        command = received.contract()
        if not isinstance(command, PrivacyCommand):
            raise MisroutedCommand(f"{received.type} is not a privacy command")
        if command.participant != self.service:
            raise MisroutedCommand(f"command for {command.participant} reached {self.service}")
        return command

    async def _append_reply(
        self,
        conn: asyncpg.Connection,
        command: PrivacyCommand,
        received: ReceivedEvent,
        effects: Effects,
        export: str | None,
    ) -> ParticipantReplied:
        reply = ParticipantReplied(
            request_id=command.request_id,
            participant=command.participant,
            command=type(command).command,
            subject_ref=command.subject_ref,
            outcome=effects.final_outcome(),
            evidence=list(effects.evidence),
            export=export,
            replied_at=self._clock(),
        )
        stream = reply_stream(command.request_id)
        # One reply per command; a later command of the same request adds its own.
        await self._store.append(
            conn,
            stream_id=stream,
            expected_version=None,  # at the stream's end, without reading its version first
            events=[reply],
            metadata=EventMetadata.caused_by(
                received,
                subject_ref=command.subject_ref,
                tenant_id=None if command.organisation_id is None else str(command.organisation_id),
                clock=self._clock,
                new_id=self._ids.new_id,
            ),
        )
        return reply

    async def _apply(self, conn: asyncpg.Connection, command: PrivacyCommand) -> Effects:
        match command:
            case EraseSubject():
                return await self._handler.erase(conn, command)
            case AnonymiseSubject():
                return await self._handler.anonymise(conn, command)
            case ExportSubject():
                return await self._handler.export(conn, command)
            case RectifySubject():
                return await self._handler.rectify(conn, command)
        raise MisroutedCommand(f"{type(command).__name__} has no handler")

    async def _export_token(self, subject_ref: str, effects: Effects) -> str | None:
        if effects.export is None:
            return None
        document = json.dumps(effects.export, sort_keys=True, ensure_ascii=False, default=str)
        try:
            return await self._keyring.encrypt(subject_ref, document)
        except SubjectErased:
            # An erased subject's export cannot be sealed for them: nothing readable is sent.
            return None


# A record that can never be applied here: dead-lettered at once, without attempts.
_NOT_A_COMMAND: Final[tuple[type[BaseException], ...]] = (*PERMANENT_ERRORS, MisroutedCommand)


def register_participant(
    broker: KafkaRegistrator,
    participant: Participant,
    *,
    group_id: str,
    topic: str | None = None,
    max_records: int = COMMAND_BATCH_MAX_RECORDS,
) -> None:
    """Subscribe ``participant`` to its command topic (``privacy.commands.<service>.v1``
    unless ``topic`` is given, e.g. a test's own) in the service's consumer group, reading
    batches of up to ``max_records`` (whatever is there, never waited for)."""

    @broker.subscriber(
        topic or command_topic(participant.service),
        group_id=group_id,
        auto_offset_reset="earliest",
        batch=True,
        max_records=max_records,
        decoder=records_as_body,
    )
    async def on_privacy_commands(message: KafkaMessage, publisher: KafkaBroker) -> None:
        records: tuple[ConsumerRecord[Any, Any], ...] = message.raw_message
        await apply_command_batch(participant, records, publisher, group_id=group_id)
        # the per-message middleware never sees a batch's records.
        record_batch_lag(message.consumer, group_id, records)


async def apply_command_batch(
    participant: Participant,
    records: Sequence[ConsumerRecord[Any, Any]],
    publisher: KafkaBroker,
    *,
    group_id: str,
    retries: RetryThenDeadLetter | None = None,
) -> None:
    """Apply a fetched batch of commands: all in one transaction (``apply_commands``), or, when
    that fails for a bug some command triggers, each alone with the broker's attempts and
    back-off (``retries``), dead-lettering exactly the commands that still fail. A record that
    is not a command for this participant goes alone to ``<topic>.dlq`` at once.

    A failure of the infrastructure (``failures.is_transient``) raises at any point: nothing
    is dead-lettered and the batch is read again (``NACK_ON_ERROR``); the commands applied
    before it are no-ops then (inbox)."""
    policy = retries or retry_policy(publisher)
    sources: list[ConsumerRecord[Any, Any]] = []
    commands: list[tuple[PrivacyCommand, ReceivedEvent]] = []
    for record in records:
        try:
            received = from_kafka_record(record.headers or (), record.value, key=record.key)
            command = participant.command_of(received)
        except _NOT_A_COMMAND as error:
            await dead_letter_record(publisher, record, error, attempts=1, consumer_group=group_id)
            continue
        sources.append(record)
        commands.append((command, received))
    if not commands:
        return
    try:
        await participant.apply_commands(commands)
        return
    except Exception as error:
        if is_transient(error):
            raise
        logger.warning(
            "%s: a batch of %d commands failed (%s): applying them one by one",
            participant.service,
            len(commands),
            type(error).__name__,
        )
    for record, one in zip(sources, commands, strict=True):
        failure = await _apply_alone(participant, one, policy)
        if failure is not None:
            await dead_letter_record(
                publisher, record, failure, attempts=policy.max_attempts, consumer_group=group_id
            )


async def _apply_alone(
    participant: Participant,
    command: tuple[PrivacyCommand, ReceivedEvent],
    policy: RetryThenDeadLetter,
) -> Exception | None:
    """One command in a transaction of its own, up to ``policy.max_attempts`` times; the last
    error if every attempt failed (a transient one raises at once)."""
    received = command[1]
    attempt = 1
    while True:
        try:
            with bound_correlation_id(received.correlation_id):
                await participant.apply_commands([command])
            return None
        except Exception as error:
            if is_transient(error):
                raise
            if attempt >= policy.max_attempts:
                return error
            # Ids and types only: the error's text may quote a value.
            logger.warning(
                "%s: command %s failed, attempt %d/%d: %s",
                participant.service,
                received.id,
                attempt,
                policy.max_attempts,
                type(error).__name__,
            )
        await policy.sleep(policy.backoff.delay(attempt))
        attempt += 1


# --- evidence from a data inventory -------------------------------------------------------


def hold_covering(holds: Sequence[Hold], entry: PersonalDataField) -> Hold | None:
    """The first hold whose categories include the entry's category, if any."""
    return next((hold for hold in holds if entry.category.value in hold.categories), None)


def kept_evidence(location: Location | str, count: int, hold: Hold, why: str = "") -> Evidence:
    """Evidence that data at ``location`` was kept under ``hold``."""
    basis = f"{hold.basis} (hold {hold.hold_id})" + (f": {why}" if why else "")
    return Evidence(
        location=str(location), action="kept", count=count, basis=basis, keep_until=hold.keep_until
    )


_ACTION_OF: Final[dict[Erasure, EvidenceAction]] = {
    Erasure.DELETE: "erased",
    Erasure.ANONYMISE: "anonymised",
    Erasure.CRYPTO_SHRED: "crypto_shredded",
    Erasure.UNLINK: "anonymised",
    Erasure.KEEP_WITH_BASIS: "kept",
}


def evidence_of(
    inventory: DataInventory,
    counts: Mapping[Location, int],
    *,
    kept: Mapping[Location, Hold] | None = None,
) -> tuple[Evidence, ...]:
    """Evidence for each inventory location in ``counts``: ``kept`` with the hold's basis for
    the locations in ``kept``, otherwise the action the inventory declares for the location.
    Raises ``KeyError`` for a location the inventory does not declare personal."""
    holds = kept or {}
    found: list[Evidence] = []
    for location, count in sorted(counts.items(), key=lambda item: str(item[0])):
        entry = inventory.personal_at(location)
        if entry is None:
            raise KeyError(f"{location} is not in {inventory.service}'s inventory")
        hold = holds.get(location)
        if hold is not None:
            found.append(kept_evidence(location, count, hold))
        elif entry.erasure is Erasure.KEEP_WITH_BASIS:
            found.append(
                Evidence(location=str(location), action="kept", count=count, basis=entry.keep_basis)
            )
        else:
            found.append(
                Evidence(location=str(location), action=_ACTION_OF[entry.erasure], count=count)
            )
    return tuple(found)
