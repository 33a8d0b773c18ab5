"""The platform's Prometheus metric objects, importable without FastAPI (DESIGN §6).

The outbox relay, the event store and the consumers update these; `observability` updates
the HTTP ones and serves them all at ``/metrics``. Labels never carry personal data or raw
URL paths: only service names, topics, consumer groups, partitions, event types, HTTP
methods, route templates and status codes, so their number stays bounded.
"""

from __future__ import annotations

from typing import Final

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
