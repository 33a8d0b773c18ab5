"""Looking up the partitions of topics that must exist (a reader that assigns partitions
itself: reporting's rebuild, the orchestrator's ``collect-checkpoints``)."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

__all__ = ["TopicNotFound", "existing_partitions"]


class TopicNotFound(LookupError):
    """A topic the caller needs does not exist on the cluster."""


async def existing_partitions(bootstrap: str, topics: Sequence[str]) -> list[TopicPartition]:
    """Every partition of ``topics``, each topic's in partition order; ``TopicNotFound`` if
    one of them does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    found: list[TopicPartition] = []
    for topic in described:
        if topic["error_code"] != 0 or not topic["partitions"]:
            raise TopicNotFound(f"topic {topic['topic']} does not exist")
        found.extend(
            TopicPartition(topic["topic"], partition["partition"])
            for partition in sorted(topic["partitions"], key=lambda p: p["partition"])
        )
    return found
