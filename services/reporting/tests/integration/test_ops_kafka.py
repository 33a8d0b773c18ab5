"""The ops read model and Kafka health on real Kafka: the live subscriber projects the privacy
topics' request states and replies (a redelivered record changes nothing), and GET /ops/kafka
reports each consumer group's lag (end minus committed offsets) and the messages in the
deployment's dead-letter topics, only for topics under the deployment's prefix."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from fastapi import FastAPI

from byggrygg_shared.auth import Role
from byggrygg_shared.messaging import Backoff
from byggrygg_shared.subscriptions import Subscriptions
from reporting.adapters.kafka_health import KafkaProbe
from reporting.bootstrap import Runtime
from reporting.entrypoints.consumers import register_ops_consumers

from ....participant_testing import eventually, produce
from .conftest import TokenFor
from .test_ops_read_model import reply, state

NewTopic = Callable[..., Awaitable[str]]


async def test_the_live_subscriber_projects_request_states_and_replies(
    runtime: Runtime, kafka_bootstrap: str, new_topic: NewTopic
) -> None:
    requests = await new_topic("reporting-requests", partitions=2)
    replies = await new_topic("reporting-replies", partitions=2)
    request_id = uuid.uuid4()
    now = datetime.now(UTC)
    started = state(request_id, "in_progress", at=now, topic=requests)
    await produce(
        kafka_bootstrap,
        state(request_id, "received", at=now - timedelta(minutes=1), topic=requests),
        started,
        reply(request_id, "consent", at=now + timedelta(seconds=4), topic=replies),
        started,  # redelivered
    )
    subscriptions = Subscriptions(
        bootstrap=kafka_bootstrap,
        client_id="reporting-ops-test",
        register=register_ops_consumers(
            runtime,
            group_id=f"reporting-ops-{uuid.uuid4().hex[:8]}",
            requests_topic=requests,
            replies_topic=replies,
        ),
        backoff=Backoff(initial=0.01, maximum=0.05),
    )
    async with subscriptions.running():

        async def projected() -> bool:
            row = await runtime.pool.fetchrow(
                "SELECT q.state, q.in_progress_at, r.replied_at - q.in_progress_at AS took "
                "FROM ops_requests q JOIN ops_replies r USING (request_id)"
            )
            return row is not None and row["state"] == "in_progress"

        await eventually(projected, what="the ops read model")

    took = await runtime.pool.fetchval(
        "SELECT r.replied_at - q.in_progress_at FROM ops_requests q JOIN ops_replies r "
        "USING (request_id)"
    )
    assert took == timedelta(seconds=4)
    assert await runtime.pool.fetchval("SELECT count(*) FROM ops_requests") == 1


async def _send(bootstrap: str, topic: str, counts: dict[int, int]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for partition, count in counts.items():
            for index in range(count):
                await producer.send_and_wait(topic, value=b"%d" % index, partition=partition)
    finally:
        await producer.stop()


async def _commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()})
    finally:
        await consumer.stop()


async def test_kafka_health_reports_lag_per_group_and_dead_letters(
    app: FastAPI,
    http: httpx.AsyncClient,
    token_for: TokenFor,
    kafka_bootstrap: str,
    new_topic: NewTopic,
) -> None:
    # The deployment's topics under a prefix of this test's own (BYGGRYGG_KAFKA_TOPIC_PREFIX).
    prefix = f"ops{uuid.uuid4().hex[:8]}."
    replies = await new_topic(prefix + "privacy.replies.v1", partitions=2, exact=True)
    dead = await new_topic(replies + ".dlq", exact=True)
    empty_dead = await new_topic(prefix + "courses.enrolment.v1.dlq", exact=True)
    await _send(kafka_bootstrap, replies, {0: 3, 1: 2})
    await _send(kafka_bootstrap, dead, {0: 3})
    behind, caught_up = (f"ops-{name}-{uuid.uuid4().hex[:8]}" for name in ("behind", "caught-up"))
    await _commit(
        kafka_bootstrap, behind, {TopicPartition(replies, 0): 1, TopicPartition(replies, 1): 0}
    )
    await _commit(
        kafka_bootstrap, caught_up, {TopicPartition(replies, 0): 3, TopicPartition(replies, 1): 2}
    )
    app.state.ops = dataclasses.replace(
        app.state.ops, kafka=KafkaProbe(kafka_bootstrap, topic_prefix=prefix)
    )

    response = await http.get("/ops/kafka", headers=token_for(Role.PLATFORM_STAFF))

    assert response.status_code == 200, response.text
    body = response.json()
    # Only groups reading this deployment's topics; names without the prefix.
    assert sorted(body["groups"], key=lambda g: g["group"]) == sorted(
        [
            {
                "group": behind,
                "lag": 4,
                "topics": [{"topic": "privacy.replies.v1", "lag": 4, "partitions": 2}],
            },
            {
                "group": caught_up,
                "lag": 0,
                "topics": [{"topic": "privacy.replies.v1", "lag": 0, "partitions": 2}],
            },
        ],
        key=lambda g: g["group"],
    )
    assert body["dead_letters"] == [
        {"topic": empty_dead.removeprefix(prefix), "messages": 0},
        {"topic": "privacy.replies.v1.dlq", "messages": 3},
    ]


async def test_kafka_out_of_reach_is_a_503_problem(
    app: FastAPI, http: httpx.AsyncClient, token_for: TokenFor
) -> None:
    # Nothing listens on port 1: the admin client cannot connect.
    app.state.ops = dataclasses.replace(app.state.ops, kafka=KafkaProbe("127.0.0.1:1"))
    response = await http.get("/ops/kafka", headers=token_for(Role.PLATFORM_STAFF))
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
