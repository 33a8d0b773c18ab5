"""The platform's Prometheus metric objects, importable without FastAPI (DESIGN §6).

The outbox relay, the event store and the consumers update these; `observability` updates
the HTTP ones and serves them all at ``/metrics``. Labels never carry personal data or raw
URL paths: only service names, topics, consumer groups, partitions, event types, HTTP
methods, route templates and status codes, so their number stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from aiokafka import ConsumerRecord, TopicPartition
from prometheus_client import Counter, Gauge, Histogram

http_requests_total: Final = Counter(
    "byggrygg_http_requests",
    "HTTP requests handled, by method, route template and status code.",
    ["method", "route", "status"],
)
http_request_duration_seconds: Final = Histogram(
    "byggrygg_http_request_duration_seconds",
    "Time from request start to the end of the response body.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

events_appended_total: Final = Counter(
    "byggrygg_events_appended",
    "Events appended to a service's event store.",
    ["service", "event_type"],
)
outbox_backlog: Final = Gauge(
    "byggrygg_outbox_backlog",
    "Events stored but not yet published to Kafka.",
    ["service"],
)
outbox_published_total: Final = Counter(
    "byggrygg_outbox_published",
    "Events the outbox relay published to Kafka.",
    ["service", "topic"],
)
consumer_lag: Final = Gauge(
    "byggrygg_consumer_lag",
    "Messages between a consumer group's committed offset and the end of the partition.",
    ["group", "topic", "partition"],
)
dlq_messages_total: Final = Counter(
    "byggrygg_dlq_messages",
    "Messages moved to a dead-letter topic after their retries ran out, by original topic.",
    ["topic"],
)
webhook_rejections_total: Final = Counter(
    "byggrygg_webhook_rejections",
    "Signed webhook messages refused (byggrygg_shared.webhooks), by reason: malformed, "
    "bad_signature, stale_timestamp, replayed.",
    ["reason"],
)


def record_batch_lag(
    consumer: object, group: str, records: Iterable[ConsumerRecord[Any, Any]]
) -> None:
    """Set ``byggrygg_consumer_lag`` for every partition of a batch, from its last record.

    A batch subscriber handles many records in one call, so the per-message middleware
    (`byggrygg_shared.messaging`) never sees them: without this the gauge would freeze at
    its last value. `consumer` is the batch's consumer (``KafkaMessage.consumer``); its
    highwater (the offset the next produced message gets) is known once the partition was
    fetched, otherwise that partition is left as it was. The lag is what remains after the
    batch: highwater - last offset - 1, never below zero.
    """
    highwater_of = getattr(consumer, "highwater", None)
    if highwater_of is None:  # a fake consumer (tests): nothing to measure
        return
    last: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        last[key] = max(record.offset, last.get(key, -1))
    for (topic, partition), offset in last.items():
        highwater = highwater_of(TopicPartition(topic, partition))
        if highwater is not None:
            consumer_lag.labels(group, topic, str(partition)).set(max(0, highwater - offset - 1))
