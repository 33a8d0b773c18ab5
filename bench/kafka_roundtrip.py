"""A raw Kafka round trip (produce, then consume, aiokafka, this machine): the floor under
every step of a privacy request that crosses Kafka, measured in the same run for comparison.

Two measurements on one scratch topic, with the platform's producer settings (idempotent,
``acks=all``, aiokafka's defaults otherwise) and a plain consumer assigned to every partition:

- **throughput**: ``messages`` records sent as fast as the producer takes them while the
  consumer reads; timed from the first send to the last record consumed. Every record carries
  its send time, so the same run also gives each record's produce-to-consume latency under load;
- **ping**: one record at a time, the next sent only once the previous one was consumed; the
  unloaded latency of one hop, which is what a request's command or reply pays.

Each has a warm-up and ``repeats`` timed runs (median reported). No target: the numbers explain
the privacy benchmarks' (an erasure crosses Kafka at least twice per participant).
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from stats import DEFAULT_CLOCK, BenchMismatch, Clock, Run, median_run, spread

__all__ = ["RoundTripConfig", "RoundTripResult", "bench_roundtrip"]

# The send time (a float from the bench's clock) leads each value; the rest is padding.
_STAMP: Final = struct.Struct("!d")
# The longest a run may wait for its last record: far above any healthy round trip.
CONSUME_TIMEOUT_S: Final = 60.0


@dataclass(frozen=True)
class RoundTripConfig:
    """``messages`` per throughput run, ``pings`` per ping run, ``value_bytes`` per record."""

    messages: int
    pings: int
    repeats: int
    warmup_messages: int
    warmup_pings: int
    partitions: int
    value_bytes: int = 512  # about a platform event with its CloudEvents headers


@dataclass(frozen=True)
class RoundTripResult:
    """The timed runs of both measurements."""

    throughput_runs: list[Run]
    ping_runs: list[Run]
    config: RoundTripConfig

    @property
    def throughput(self) -> Run:
        return median_run(self.throughput_runs)

    @property
    def ping(self) -> Run:
        # Ping runs all do the same work; the median by throughput is the median by mean latency.
        return median_run(self.ping_runs)

    def document(self) -> dict[str, Any]:
        throughput, ping = self.throughput, self.ping
        return {
            "unit": "messages",
            "throughput": {
                "per_second": round(throughput.per_second, 1),
                "runs_per_second": [round(run.per_second, 1) for run in self.throughput_runs],
                "spread_per_second": {
                    key: round(value, 1) for key, value in spread(self.throughput_runs).items()
                },
                "messages_per_run": throughput.items,
                "p50_ms_under_load": _round(throughput.latency_ms(0.50)),
                "p99_ms_under_load": _round(throughput.latency_ms(0.99)),
            },
            "ping": {
                "p50_ms": _round(ping.latency_ms(0.50)),
                "p99_ms": _round(ping.latency_ms(0.99)),
                "pings_per_run": ping.items,
                "runs_p50_ms": [_round(run.latency_ms(0.50)) for run in self.ping_runs],
            },
            "config": {
                "partitions": self.config.partitions,
                "value_bytes": self.config.value_bytes,
                "producer": {"enable_idempotence": True, "acks": "all"},
            },
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


async def bench_roundtrip(
    bootstrap: str, topic: str, config: RoundTripConfig, *, clock: Clock = DEFAULT_CLOCK
) -> RoundTripResult:
    """Measure produce-to-consume on ``topic`` (an empty scratch topic)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="bench-roundtrip",
        enable_idempotence=True,
        acks="all",
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, client_id="bench-roundtrip", enable_auto_commit=False
    )
    await producer.start()
    try:
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in range(config.partitions)]
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            trip = _Trip(producer, consumer, topic, config.value_bytes, clock)
            await trip.flood(config.warmup_messages)
            await trip.pings(config.warmup_pings)
            throughput_runs: list[Run] = []
            ping_runs: list[Run] = []
            for _ in range(config.repeats):
                throughput_runs.append(await trip.flood(config.messages))
                ping_runs.append(await trip.pings(config.pings))
        finally:
            await consumer.stop()
    finally:
        await producer.stop()
    return RoundTripResult(throughput_runs, ping_runs, config)


class _Trip:
    """Sends stamped records and reads them back on one producer and one consumer."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        consumer: AIOKafkaConsumer,
        topic: str,
        value_bytes: int,
        clock: Clock,
    ) -> None:
        self._producer = producer
        self._consumer = consumer
        self._topic = topic
        self._padding = b"x" * max(0, value_bytes - _STAMP.size)
        self._clock = clock
        self._sent = 0

    async def _send(self) -> asyncio.Future[Any]:
        # Keys spread the records over the partitions like the platform's aggregate ids do.
        key = b"k%d" % self._sent
        self._sent += 1
        value = _STAMP.pack(self._clock()) + self._padding
        future: asyncio.Future[Any] = await self._producer.send(self._topic, value, key=key)
        return future

    async def _receive(self, count: int) -> list[float]:
        """Latencies of the next ``count`` records consumed."""
        latencies: list[float] = []
        deadline = self._clock() + CONSUME_TIMEOUT_S
        while len(latencies) < count:
            if self._clock() > deadline:
                raise BenchMismatch(f"consumed {len(latencies)} of {count} records in time")
            batches = await self._consumer.getmany(timeout_ms=1000)
            now = self._clock()
            for records in batches.values():
                for record in records:
                    assert record.value is not None
                    latencies.append(now - _STAMP.unpack_from(record.value)[0])
        if len(latencies) != count:
            raise BenchMismatch(f"consumed {len(latencies)} records, sent {count}")
        return latencies

    async def flood(self, count: int) -> Run:
        """``count`` records sent back to back while the consumer reads them."""
        start = self._clock()
        receiving = asyncio.create_task(self._receive(count))
        try:
            deliveries = [await self._send() for _ in range(count)]
            await asyncio.gather(*deliveries)
            latencies = await receiving
        finally:
            receiving.cancel()
        return Run(count, self._clock() - start, latencies)

    async def pings(self, count: int) -> Run:
        """``count`` records one at a time: each consumed before the next is sent."""
        start = self._clock()
        latencies: list[float] = []
        for _ in range(count):
            await self._send()
            latencies += await self._receive(1)
        return Run(count, self._clock() - start, latencies)
