"""Kafka consumers on FastStream: broker factory, retries with back-off, dead letters (DESIGN §2).

Acknowledgement is chosen explicitly, never left to the default (FastStream's default on Kafka
is ``ACK_FIRST``: auto-commit before the handler runs, so a crash loses the message):

- Brokers from ``make_broker`` use ``AckPolicy.NACK_ON_ERROR``: the offset is committed only
  after the handler returned. Should an exception still escape, the consumer seeks back and
  the message is delivered again; nothing is skipped.
- ``RetryThenDeadLetter`` (installed by ``make_broker`` on every subscriber) wraps the handler:
  a failing message is retried in place with exponential back-off (blocking its partition, so
  order is kept) up to ``max_attempts``. A message that still fails, or fails with an error
  that retrying cannot fix (malformed envelope, payload that does not validate), is published
  to ``<topic>.dlq`` with its original key, value and headers plus the error in ``dlq_*``
  headers (type, message, attempts, original topic/partition/offset, consumer group, time).
  ``<topic>`` is the topic the record was read from, so a deployment's topic prefix
  (``subscriptions``, ``kafka_topic_prefix``) carries over to its dead-letter topic.
  Then the handler returns normally, so the offset is committed and the next messages flow.
  If even the dead-letter publish fails, the error escapes, the message is not committed and
  is redelivered (``NACK_ON_ERROR``): it is never dropped silently.
  ``AckPolicy.REJECT_ON_ERROR`` would instead commit and move on after an error, which is why
  the retries and the dead-letter topic are explicit here.
- Batch subscribers (``batch=True``) get the whole fetched batch as one message, which the
  middleware can retry but not dead-letter in part. They dead-letter each bad record alone
  with ``dead_letter_record`` (same headers, counter and log line as the middleware), retry
  what may be a bad record's fault themselves with the middleware's own settings
  (``retry_policy``), and raise only for a failure of the whole batch: the middleware retries
  it in place, then lets the error escape, and ``NACK_ON_ERROR`` seeks every partition of the
  batch back to its first record (FastStream 0.7's ``KafkaAckableMessage.nack``): the batch
  is read again.
- Handlers must be idempotent (delivery is at least once): apply effects with ``inbox.claim``
  in the effect's transaction.

A handler reads the CloudEvent from the FastStream message with ``event_from_message``::

    from faststream.kafka.annotations import KafkaMessage

    @broker.subscriber("identity.user.v1", group_id="courses", auto_offset_reset="earliest")
    async def on_user_event(message: KafkaMessage) -> None:
        event = event_from_message(message)
        ...

Error messages go into DLQ headers and logs; exceptions raised by handlers must therefore not
carry personal data in their text (STYLE: log ids and counts only). Validation errors from
pydantic are reduced to field locations and error kinds before they are written anywhere.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import asyncpg
from aiokafka import ConsumerRecord, TopicPartition
from faststream._internal.middlewares import BaseMiddleware
from faststream.exceptions import IgnoredException
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from pydantic import ValidationError

from byggrygg_shared.contracts.registry import (
    InvalidEventPayload,
    UnknownEventType,
    UnsupportedEventVersion,
)
from byggrygg_shared.envelope import MalformedEvent, ReceivedEvent, from_kafka_record
from byggrygg_shared.metrics import consumer_lag, dlq_messages_total

__all__ = [
    "ACK_POLICY",
    "DLQ_SUFFIX",
    "Backoff",
    "DeadLetterPublisher",
    "RetryThenDeadLetter",
    "dead_letter_headers",
    "dead_letter_record",
    "dead_letter_topic",
    "event_from_message",
    "make_broker",
    "retry_policy",
]

logger = logging.getLogger(__name__)

ACK_POLICY: Final = AckPolicy.NACK_ON_ERROR
DLQ_SUFFIX: Final = ".dlq"
_MAX_ERROR_MESSAGE: Final = 500

# Errors that another attempt cannot fix: the message itself is wrong.
PERMANENT_ERRORS: Final[tuple[type[BaseException], ...]] = (
    MalformedEvent,
    InvalidEventPayload,
    UnknownEventType,
    UnsupportedEventVersion,
    ValidationError,
)

Sleep = Callable[[float], Awaitable[None]]


def dead_letter_topic(topic: str) -> str:
    """The dead-letter topic of ``topic``: ``<topic>.dlq``."""
    return f"{topic}{DLQ_SUFFIX}"


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off between attempts: ``initial * multiplier**n``, capped."""

    initial: float = 0.2
    multiplier: float = 2.0
    maximum: float = 5.0

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait after the ``failed_attempts``-th failure (1-based)."""
        return float(min(self.maximum, self.initial * self.multiplier ** (failed_attempts - 1)))


class DeadLetterPublisher(Protocol):
    """Publishes one dead letter; raises if the broker did not take it."""

    async def __call__(
        self, *, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
    ) -> None: ...


class RetryThenDeadLetter:
    """FastStream middleware factory: retry a failing handler, then dead-letter the message.

    ``dead_letters`` defaults to publishing through the consuming broker itself.
    """

    def __init__(
        self,
        *,
        max_attempts: int = 5,
        backoff: Backoff = Backoff(),
        permanent_errors: Sequence[type[BaseException]] = PERMANENT_ERRORS,
        dead_letters: DeadLetterPublisher | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.permanent_errors = tuple(permanent_errors)
        self.dead_letters = dead_letters
        self.sleep = sleep
        self.clock = clock

    def __call__(self, msg: Any | None, /, *, context: Any) -> BaseMiddleware[Any, Any]:
        return _RetryThenDeadLetterScope(msg, context=context, policy=self)


class _RetryThenDeadLetterScope(BaseMiddleware[Any, Any]):
    def __init__(self, msg: Any | None, /, *, context: Any, policy: RetryThenDeadLetter) -> None:
        super().__init__(msg, context=context)
        self.policy = policy

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        policy = self.policy
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await call_next(msg)
            except IgnoredException:
                raise  # FastStream's own control flow (AckMessage, NackMessage, StopConsume...)
            except Exception as error:
                record = _record_of(msg)
                permanent = isinstance(error, policy.permanent_errors)
                logger.warning(
                    "handler failed on %s[%s]@%s attempt %d/%d: %s",
                    record.topic if record else "?",
                    record.partition if record else "?",
                    record.offset if record else "?",
                    attempt,
                    policy.max_attempts,
                    type(error).__name__,
                )
                if permanent or attempt >= policy.max_attempts:
                    await self._dead_letter(msg, record, error, attempt)
                    self._record_lag(record)
                    return None
                await policy.sleep(policy.backoff.delay(attempt))
            else:
                self._record_lag(_record_of(msg))
                return result

    def _record_lag(self, record: ConsumerRecord[Any, Any] | None) -> None:
        consumer = getattr(self.context.get("handler_"), "consumer", None)
        if record is None or consumer is None:
            return
        handler = self.context.get("handler_")
        highwater = consumer.highwater(TopicPartition(record.topic, record.partition))
        if highwater is not None:
            consumer_lag.labels(
                str(getattr(handler, "group_id", "") or ""), record.topic, str(record.partition)
            ).set(max(0, highwater - record.offset - 1))

    async def _dead_letter(
        self,
        msg: StreamMessage[Any],
        record: ConsumerRecord[Any, Any] | None,
        error: Exception,
        attempts: int,
    ) -> None:
        if record is None:
            raise RuntimeError("dead-lettering needs a Kafka ConsumerRecord") from error
        handler = self.context.get("handler_")
        await dead_letter_record(
            self.policy.dead_letters or self.context.get("broker"),
            record,
            error,
            attempts=attempts,
            consumer_group=str(getattr(handler, "group_id", "") or ""),
            failed_at=self.policy.clock(),
        )


def retry_policy(broker: KafkaBroker) -> RetryThenDeadLetter:
    """The ``RetryThenDeadLetter`` installed on ``broker`` (by ``make_broker``), or the
    defaults if it has none.

    For batch handlers, which retry a batch that may hold a bad record themselves (the
    middleware cannot dead-letter a part of it): its ``max_attempts``, ``backoff`` and
    ``sleep`` are the ones single messages get, so one setting governs both.
    """
    for middleware in broker.middlewares:
        if isinstance(middleware, RetryThenDeadLetter):
            return middleware
    return RetryThenDeadLetter()


async def dead_letter_record(
    publisher: KafkaBroker | DeadLetterPublisher,
    record: ConsumerRecord[Any, Any],
    error: BaseException,
    *,
    attempts: int,
    consumer_group: str,
    failed_at: datetime | None = None,
) -> None:
    """``record`` alone to ``<topic>.dlq``: its key, value and headers plus the error's
    ``dlq_*`` headers; counted in ``byggrygg_dlq_messages`` and logged (ids only).

    The one way records are dead-lettered: by ``RetryThenDeadLetter`` for single messages and
    by batch subscribers for a bad record of a batch. ``publisher`` is the consuming broker
    (a handler's ``KafkaBroker`` from the context) or a ``DeadLetterPublisher``. Raises if
    Kafka does not take it: the caller then fails, its offsets stay uncommitted and the record
    is read again, never dropped silently.
    """
    headers = dead_letter_headers(
        record,
        error,
        attempts=attempts,
        consumer_group=consumer_group,
        failed_at=failed_at or datetime.now(UTC),
    )
    topic = dead_letter_topic(record.topic)
    value: bytes = record.value or b""
    if isinstance(publisher, KafkaBroker):
        await publisher.publish(value, topic=topic, key=record.key, headers=headers)
    else:
        await publisher(topic=topic, key=record.key, value=value, headers=headers)
    dlq_messages_total.labels(record.topic).inc()
    logger.error(
        "dead-lettered %s[%s]@%s after %d attempt(s): %s",
        record.topic,
        record.partition,
        record.offset,
        attempts,
        type(error).__name__,
    )


def dead_letter_headers(
    record: ConsumerRecord[Any, Any],
    error: BaseException,
    *,
    attempts: int,
    consumer_group: str,
    failed_at: datetime,
) -> dict[str, str]:
    """The headers of ``record``'s dead letter: its own (text) plus the error in ``dlq_*``.

    Public for batch subscribers, which dead-letter single records of a batch themselves
    (this middleware dead-letters whole messages only)."""
    headers = {
        name: value.decode("utf-8", errors="backslashreplace")
        for name, value in (record.headers or ())
        if value is not None and not name.startswith("dlq_")
    }
    headers.update(
        {
            "dlq_error_type": f"{type(error).__module__}.{type(error).__qualname__}",
            "dlq_error_message": describe_error(error),
            "dlq_attempts": str(attempts),
            "dlq_original_topic": record.topic,
            "dlq_original_partition": str(record.partition),
            "dlq_original_offset": str(record.offset),
            "dlq_consumer_group": consumer_group,
            "dlq_failed_at": failed_at.isoformat(),
        }
    )
    return headers


def describe_error(error: BaseException) -> str:
    """A short, value-free description of ``error`` for DLQ headers and logs."""
    if isinstance(error, asyncpg.PostgresError):
        # Their messages quote the rejected input ("invalid input for query argument $1: ...",
        # a key's value): the class and SQLSTATE say what went wrong without it.
        return f"{type(error).__name__} (SQLSTATE {error.sqlstate})"
    if isinstance(error, ValidationError):
        text = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['type']}"
            for item in error.errors(include_input=False, include_url=False)
        )
    else:
        text = str(error)
    return text[:_MAX_ERROR_MESSAGE]


def _record_of(msg: StreamMessage[Any]) -> ConsumerRecord[Any, Any] | None:
    raw = msg.raw_message
    return raw if isinstance(raw, ConsumerRecord) else None


def event_from_message(message: StreamMessage[Any]) -> ReceivedEvent:
    """The CloudEvent carried by a FastStream Kafka message (raises ``MalformedEvent``)."""
    record = _record_of(message)
    if record is None:
        raise MalformedEvent("not a single Kafka record")
    return from_kafka_record(record.headers or (), record.value, key=record.key)


async def records_as_body(message: StreamMessage[Any]) -> tuple[ConsumerRecord[Any, Any], ...]:
    """A batch subscriber's decoder: the batch's records, as they came. FastStream's own would
    parse every record again into a message and ``json.loads`` its value, for a body the
    handlers never read (they decode the records themselves): about a quarter of reporting's
    projector time on a 100,000-record run."""
    records: tuple[ConsumerRecord[Any, Any], ...] = message.raw_message
    return records


def make_broker(
    bootstrap: str,
    *,
    client_id: str | None = None,
    max_attempts: int = 5,
    backoff: Backoff = Backoff(),
    dead_letters: DeadLetterPublisher | None = None,
    **kwargs: Any,
) -> KafkaBroker:
    """A FastStream ``KafkaBroker`` with the platform's delivery rules.

    Producer side: idempotent, ``acks=all``. Consumer side: ``ACK_POLICY`` (commit after the
    handler returned) and ``RetryThenDeadLetter`` around every handler. Subscribers do not
    create missing topics (``allow_auto_create_topics=False`` unless overridden). Further
    keyword arguments go to ``KafkaBroker``.
    """
    retry = RetryThenDeadLetter(
        max_attempts=max_attempts, backoff=backoff, dead_letters=dead_letters
    )
    if client_id is not None:
        kwargs["client_id"] = client_id
    # Topics are declared in deploy/topics.toml with their retention; a subscriber must not
    # create one with broker defaults by accident.
    kwargs.setdefault("allow_auto_create_topics", False)
    return KafkaBroker(
        bootstrap,
        enable_idempotence=True,
        acks="all",
        ack_policy=ACK_POLICY,
        middlewares=(retry, *kwargs.pop("middlewares", ())),
        **kwargs,
    )
