"""The outbox relay: moves committed events from the event store to Kafka (DESIGN §2).

Guarantees:

- **At-least-once, never lost.** A row is marked ``published_at`` only after the broker has
  acknowledged it (idempotent producer, ``acks=all``). A relay killed at any point restarts
  from the rows still unpublished, so an event may be published twice (killed between the
  broker's ack and the mark) but never zero times. Consumers dedupe with the inbox
  (``inbox.py``): the CloudEvents ``id`` is the same in every copy.
- **Order.** Unpublished rows are sent in ``global_position`` order, each batch awaited before
  the next is read. Within a stream positions grow with versions and the key is the stream id,
  so one aggregate's events land on one partition in version order. After a producer error only
  the acknowledged prefix of the batch is marked; the rest is re-sent in order on the next pass.
- **One active relay per database.** A relay publishes only while it holds the session-level
  advisory lock ``pg_try_advisory_lock(RELAY_LOCK_KEY)`` on its own dedicated connection, and
  every read and mark of the relay runs on that same connection: if the connection dies, the
  lock is gone and so is the relay's ability to mark rows. Other relays (another replica, a
  restarted process) wait as hot standbys and take over within ``standby_interval`` once the
  holder's connection closes (PostgreSQL releases the lock when the session ends, including
  after ``kill -9``). Row locks such as ``FOR UPDATE SKIP LOCKED`` would let two relays publish
  different slices concurrently, which interleaves a stream's events out of order; a single
  active relay does not.
- **Prompt.** ``append`` issues ``pg_notify(OUTBOX_CHANNEL)`` in its transaction; the relay
  LISTENs and wakes on commit. A short poll (``poll_interval``) covers missed notifications
  (e.g. while reconnecting).

Hot path (``make bench`` compares it with a raw producer sending the same records): the relay
selects only the columns a record needs and builds records from them (no ``StoredEvent``),
envelopes are built by ``envelope.kafka_record`` (byte-identical to the CloudEvents SDK), each
batch is marked with one ``UPDATE ... WHERE global_position = ANY($1)``, committed with
``synchronous_commit = off``: a mark lost in a PostgreSQL crash only re-publishes acknowledged
events (the at-least-once duplicate the inbox already absorbs), never skips one. Batches are not
pipelined: batch N+1 is read and sent only after every event of batch N is acknowledged, so a
retry of N can never land after N+1.

The relay resolves nothing from the contract registry: the topic and source were recorded in
each row's metadata at append time. ``source_service`` is the emitting service and becomes the
CloudEvents ``source``. ``topic_prefix`` (the deployment's ``kafka_topic_prefix``, "" by
default) is put before the recorded topic when publishing: the stored topic is the contract's,
the prefix is deployment configuration (a test session's own copy of the topics), not data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

import asyncpg
from aiokafka import AIOKafkaProducer

from byggrygg_shared.background import wait_for_any
from byggrygg_shared.envelope import KafkaRecord, kafka_record
from byggrygg_shared.eventstore import EVENTS_TABLE, OUTBOX_CHANNEL
from byggrygg_shared.metrics import outbox_backlog, outbox_published_total

__all__ = [
    "RELAY_LOCK_KEY",
    "OutboxPublishFailed",
    "OutboxRelay",
    "RelayWorker",
    "make_idempotent_producer",
    "relay_until_stopped",
]

logger = logging.getLogger(__name__)

# Advisory-lock key of "the outbox relay of this database" (advisory locks are per database).
# Any constant works as long as every relay agrees; 0x42525947 is ASCII "BRYG".
RELAY_LOCK_KEY: Final = 0x4252_5947_0B0C_0001


class OutboxPublishFailed(RuntimeError):
    """The broker did not acknowledge an event; it stays unpublished and is retried."""


def make_idempotent_producer(
    bootstrap: str, *, client_id: str | None = None, **kwargs: Any
) -> AIOKafkaProducer:
    """An aiokafka producer with idempotence on and ``acks=all`` (no duplicates from retries,
    no loss on a leader change). Start it before use and stop it after.
    """
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        **kwargs,
    )


class OutboxRelay:
    """Publishes unpublished event-store rows to Kafka and marks them published.

    ``is_leader`` says whether this instance holds the relay lock right now (for readiness
    and status pages).
    """

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        source_service: str,
        topic_prefix: str = "",
        batch_size: int = 500,
        poll_interval: float = 1.0,
        standby_interval: float = 2.0,
        error_backoff: float = 1.0,
        table: str = EVENTS_TABLE,
        channel: str = OUTBOX_CHANNEL,
        lock_key: int = RELAY_LOCK_KEY,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self._pool = pool
        self._producer = producer
        self._source_service = source_service
        self._topic_prefix = topic_prefix
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._standby_interval = standby_interval
        self._error_backoff = error_backoff
        self._table = table
        self._channel = channel
        self._lock_key = lock_key
        self.is_leader = False
        # Only what a record needs, jsonb as text (decoded here whatever the pool's codecs).
        columns = (
            "global_position, stream_id, event_type, event_version, payload::text, metadata::text"
        )
        self._select_pending = (
            f"SELECT {columns} FROM {table} "  # noqa: S608 - constructor constants
            "WHERE published_at IS NULL ORDER BY global_position LIMIT $1"
        )
        self._mark = (
            f"UPDATE {table} SET published_at = now() "  # noqa: S608 - constructor constant
            "WHERE global_position = ANY($1::bigint[])"
        )
        self._count_pending = f"SELECT count(*) FROM {table} WHERE published_at IS NULL"  # noqa: S608

    async def publish_pending(self) -> int:
        """One pass: publish every row unpublished right now; return how many were published.

        Takes the relay lock for the pass. Returns 0 without publishing when another relay
        holds it (that relay is publishing these rows). Raises ``OutboxPublishFailed`` when the
        broker rejects an event (the acknowledged prefix is marked first).
        """
        conn: asyncpg.Connection
        async with self._pool.acquire() as conn:
            if not await self._try_lock(conn):
                return 0
            try:
                return await self._drain(conn)
            finally:
                await self._unlock(conn)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set: lead when the lock is free, otherwise stand by.

        Errors (database or broker) are logged and retried after ``error_backoff``; the relay
        never gives up on an event, it retries it until the broker takes it.
        """
        while not stop.is_set():
            try:
                if not await self._lead_while_possible(stop):
                    # Another relay leads; stand by without holding a pooled connection.
                    await _wait(stop, self._standby_interval)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                logger.warning("outbox relay lost its database connection: %r", error)
                await _wait(stop, self._error_backoff)
            except Exception:
                # Keep relaying: a stuck relay shows as a growing outbox_backlog, a dead one
                # would silently stop the service's events.
                logger.exception("outbox relay failed; retrying")
                await _wait(stop, self._error_backoff)
            finally:
                self.is_leader = False

    async def _lead_while_possible(self, stop: asyncio.Event) -> bool:
        """Lead until ``stop`` (True), or return False at once if another relay leads."""
        conn: asyncpg.Connection
        async with self._pool.acquire() as conn:
            if not await self._try_lock(conn):
                return False
            self.is_leader = True
            logger.info("outbox relay for %s is active", self._source_service)
            wake = asyncio.Event()

            def on_notify(*_: object) -> None:
                wake.set()

            await conn.add_listener(self._channel, on_notify)
            try:
                while not stop.is_set():
                    wake.clear()
                    try:
                        await self._drain(conn)
                    except OutboxPublishFailed as error:
                        logger.warning("outbox relay will retry: %s", error)
                        await _wait(stop, self._error_backoff)
                        continue
                    await wait_for_any(stop, wake, self._poll_interval)
            finally:
                if not conn.is_closed():
                    await conn.remove_listener(self._channel, on_notify)
                    await self._unlock(conn)
        return True

    async def _drain(self, conn: asyncpg.Connection) -> int:
        published = 0
        while True:
            rows = await conn.fetch(self._select_pending, self._batch_size)
            if rows:
                published += await self._publish_batch(conn, rows)
            if len(rows) < self._batch_size:
                outbox_backlog.labels(self._source_service).set(
                    await conn.fetchval(self._count_pending)
                )
                return published

    def _record(self, row: asyncpg.Record) -> KafkaRecord:
        _, stream_id, event_type, event_version, payload, metadata = row
        meta = json.loads(metadata)
        return kafka_record(
            topic=self._topic_prefix + str(meta["topic"]),
            stream_id=stream_id,
            ce_type=f"{event_type}.v{event_version}",
            payload=json.loads(payload),
            metadata=meta,
            source_service=self._source_service,
        )

    async def _publish_batch(self, conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> int:
        deliveries: list[asyncio.Future[Any]] = []
        topics: list[str] = []
        failure: BaseException | None = None
        for row in rows:
            record = self._record(row)
            try:
                # `send` only enqueues; the returned future resolves on the broker's ack.
                deliveries.append(
                    await self._producer.send(
                        record.topic, value=record.value, key=record.key, headers=record.headers
                    )
                )
            except Exception as error:  # the enqueue itself failed: stop, keep the order
                failure = error
                break
            topics.append(record.topic)
        results = await asyncio.gather(*deliveries, return_exceptions=True)
        acked: list[int] = []
        for row, result in zip(rows, results, strict=False):
            if isinstance(result, BaseException):
                failure = failure or result
                break
            acked.append(row[0])
        # One counter update per topic and batch: a labelled inc() per message is measurable here.
        for topic, published in Counter(topics[: len(acked)]).items():
            outbox_published_total.labels(self._source_service, topic).inc(published)
        if acked:
            await self._mark_published(conn, acked)
        if failure is not None:
            raise OutboxPublishFailed(
                f"broker did not take event at position {rows[len(acked)][0]}: "
                f"{type(failure).__name__}"
            ) from failure
        return len(acked)

    async def _mark_published(self, conn: asyncpg.Connection, positions: list[int]) -> None:
        # Asynchronous commit: the mark is visible at once, but its WAL flush is not waited
        # for. A mark lost to a PostgreSQL crash only re-publishes acknowledged events (a
        # duplicate the inbox absorbs, like a relay killed between ack and mark); it can never
        # mark an unacknowledged one. Saves one fsync per batch on the hot path.
        async with conn.transaction():
            await conn.execute("SET LOCAL synchronous_commit TO off")
            await conn.execute(self._mark, positions)

    async def _try_lock(self, conn: asyncpg.Connection) -> bool:
        return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key))

    async def _unlock(self, conn: asyncpg.Connection) -> None:
        await conn.execute("SELECT pg_advisory_unlock($1)", self._lock_key)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return


async def relay_until_stopped(
    *,
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    source_service: str,
    stop: asyncio.Event,
    connected: asyncio.Event | None = None,
    retry_interval: float = 2.0,
    topic_prefix: str = "",
) -> None:
    """What a service process runs beside its API: connect ``producer`` (retrying while the
    broker is unreachable, so a service may start before Kafka), then relay its outbox until
    ``stop`` is set, then stop the producer. ``connected`` is set once the producer is up,
    for readiness checks. ``topic_prefix`` goes before every recorded topic (``OutboxRelay``).
    """
    while not stop.is_set():
        try:
            await producer.start()
            break
        except Exception as error:  # the broker may still be starting: keep trying
            logger.warning("kafka not reachable yet: %s", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=retry_interval)
    if stop.is_set():
        return
    if connected is not None:
        connected.set()
    try:
        await OutboxRelay(
            pool=pool, producer=producer, source_service=source_service, topic_prefix=topic_prefix
        ).run(stop)
    finally:
        await producer.stop()


class RelayWorker:
    """The outbox relay as a service process runs it beside its API (`relay_until_stopped`),
    with the readiness check of its Kafka producer.

    ``run(stop)`` makes the idempotent producer, connects (retrying while Kafka is away) and
    relays until ``stop`` is set; ``check`` raises ``ConnectionError`` until the producer is
    connected, and afterwards whenever the cluster does not answer; wire it into ``/readyz``.
    ``topic_prefix``: the deployment's ``kafka_topic_prefix`` (settings), put before every
    recorded topic.
    """

    def __init__(
        self, *, pool: asyncpg.Pool, bootstrap: str, source_service: str, topic_prefix: str = ""
    ) -> None:
        self._pool = pool
        self._bootstrap = bootstrap
        self._source_service = source_service
        self._topic_prefix = topic_prefix
        self.producer: AIOKafkaProducer | None = None
        self.connected = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        self.producer = make_idempotent_producer(self._bootstrap, client_id=self._source_service)
        await relay_until_stopped(
            pool=self._pool,
            producer=self.producer,
            source_service=self._source_service,
            stop=stop,
            connected=self.connected,
            topic_prefix=self._topic_prefix,
        )

    async def check(self) -> None:
        if self.producer is None or not self.connected.is_set():
            raise ConnectionError("the Kafka producer is not connected")
        await self.producer.client.fetch_all_metadata()
