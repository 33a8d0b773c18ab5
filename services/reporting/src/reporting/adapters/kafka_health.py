"""Kafka health for the ops dashboard: consumer lag per consumer group and dead-letter counts,
read with the Kafka admin client and a group-less consumer (end offsets), never by consuming.

The deployment's topics are the cluster's topics under ``kafka_topic_prefix`` (every topic
when the prefix is empty; Kafka's internal ``__`` topics never). Lag of a group on a topic is
the sum over its partitions of end offset minus committed offset; a dead-letter topic
(``<topic>.dlq``) holds end minus beginning offset messages (retention may have removed
older ones: the count is what is still there).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from typing import Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

DLQ_SUFFIX: Final = ".dlq"
# Offset fetches in flight at once (one request per consumer group).
_CONCURRENCY: Final = 16


@dataclass(frozen=True)
class TopicLag:
    """One consumer group's lag on one topic (the prefix removed from the name)."""

    topic: str
    lag: int
    partitions: int


@dataclass(frozen=True)
class GroupLag:
    group: str
    lag: int
    topics: tuple[TopicLag, ...]


@dataclass(frozen=True)
class DeadLetters:
    topic: str  # the dead-letter topic, without the deployment's prefix
    messages: int


@dataclass(frozen=True)
class KafkaHealth:
    groups: tuple[GroupLag, ...]
    dead_letters: tuple[DeadLetters, ...]


class KafkaProbe:
    """Reads the health of the deployment's topics from the cluster at `bootstrap`."""

    def __init__(self, bootstrap: str, *, topic_prefix: str = "") -> None:
        self.bootstrap = bootstrap
        self.topic_prefix = topic_prefix

    def _ours(self, topic: str) -> bool:
        return not topic.startswith("__") and topic.startswith(self.topic_prefix)

    def _short(self, topic: str) -> str:
        return topic.removeprefix(self.topic_prefix)

    async def health(self) -> KafkaHealth:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await admin.start()
        try:
            await consumer.start()
            try:
                return await self._health(admin, consumer)
            finally:
                await consumer.stop()
        finally:
            await admin.close()

    async def _health(self, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> KafkaHealth:
        topics = sorted(t for t in await admin.list_topics() if self._ours(t))
        partitions = await _partitions(admin, topics)
        ends: dict[TopicPartition, int] = (
            await consumer.end_offsets(partitions) if partitions else {}
        )
        dlq_partitions = [tp for tp in partitions if tp.topic.endswith(DLQ_SUFFIX)]
        beginnings: dict[TopicPartition, int] = (
            await consumer.beginning_offsets(dlq_partitions) if dlq_partitions else {}
        )
        dead: dict[str, int] = {t: 0 for t in topics if t.endswith(DLQ_SUFFIX)}
        for tp in dlq_partitions:
            dead[tp.topic] += ends[tp] - beginnings[tp]

        groups = sorted(str(group[0]) for group in await admin.list_consumer_groups())
        gate = asyncio.Semaphore(_CONCURRENCY)

        async def committed(group: str) -> dict[TopicPartition, OffsetAndMetadata]:
            async with gate:
                found: dict[TopicPartition, OffsetAndMetadata]
                found = await admin.list_consumer_group_offsets(group)
                return found

        offsets = await asyncio.gather(*(committed(group) for group in groups))
        lags = [
            lag
            for group, found in zip(groups, offsets, strict=True)
            if (lag := self._group_lag(group, found, ends)) is not None
        ]
        return KafkaHealth(
            groups=tuple(lags),
            dead_letters=tuple(
                DeadLetters(topic=self._short(topic), messages=count)
                for topic, count in sorted(dead.items())
            ),
        )

    def _group_lag(
        self,
        group: str,
        committed: dict[TopicPartition, OffsetAndMetadata],
        ends: dict[TopicPartition, int],
    ) -> GroupLag | None:
        """The group's lag on the deployment's topics; None if it reads none of them."""
        per_topic: dict[str, list[int]] = defaultdict(list)
        for tp, offset in committed.items():
            if tp not in ends or offset.offset < 0:
                continue  # another deployment's topic, a deleted one, or nothing committed
            per_topic[tp.topic].append(max(0, ends[tp] - offset.offset))
        if not per_topic:
            return None
        topics = tuple(
            TopicLag(topic=self._short(topic), lag=sum(lags), partitions=len(lags))
            for topic, lags in sorted(per_topic.items())
        )
        return GroupLag(group=group, lag=sum(t.lag for t in topics), topics=topics)


async def _partitions(admin: AIOKafkaAdminClient, topics: list[str]) -> list[TopicPartition]:
    if not topics:
        return []
    found: list[TopicPartition] = []
    for topic in await admin.describe_topics(topics):
        if topic["error_code"] != 0:
            continue  # deleted between the listing and now
        found.extend(TopicPartition(topic["topic"], p["partition"]) for p in topic["partitions"])
    return found
