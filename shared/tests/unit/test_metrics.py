"""`metrics.record_batch_lag`: the consumer lag of a batch, per partition, from its last record."""

from __future__ import annotations

import uuid

from aiokafka import ConsumerRecord, TopicPartition
from prometheus_client import REGISTRY

from byggrygg_shared.metrics import record_batch_lag


class Consumer:
    """Knows the highwater of the partitions it fetched (as AIOKafkaConsumer.highwater)."""

    def __init__(self, highwater: dict[TopicPartition, int]) -> None:
        self._highwater = highwater

    def highwater(self, partition: TopicPartition) -> int | None:
        return self._highwater.get(partition)


def record(topic: str, partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=b"",
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=(),
    )


def lag(group: str, topic: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value(
        "byggrygg_consumer_lag", {"group": group, "topic": topic, "partition": str(partition)}
    )


def test_each_partition_gets_the_lag_after_its_last_record() -> None:
    group, topic = f"g-{uuid.uuid4().hex}", f"t-{uuid.uuid4().hex}"
    consumer = Consumer({TopicPartition(topic, 0): 10, TopicPartition(topic, 1): 4})
    batch = [record(topic, 0, 7), record(topic, 1, 3), record(topic, 0, 5)]

    record_batch_lag(consumer, group, batch)

    assert lag(group, topic, 0) == 2  # offsets 8 and 9 are still to read
    assert lag(group, topic, 1) == 0


def test_a_partition_without_a_known_highwater_is_left_alone() -> None:
    group, topic = f"g-{uuid.uuid4().hex}", f"t-{uuid.uuid4().hex}"

    record_batch_lag(Consumer({}), group, [record(topic, 0, 1)])
    record_batch_lag(object(), group, [record(topic, 0, 1)])  # a fake consumer: no highwater

    assert lag(group, topic, 0) is None
