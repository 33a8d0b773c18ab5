"""The replies consumer's batches on real PostgreSQL and Kafka (issue 5, contract-end
throughput): many requests' replies read in one batch are recorded request by request, each
request once; a batch read again (a crash before its offsets were committed) records nothing
twice; a record that is not a valid reply is dead-lettered alone while the rest of its batch
is recorded; a request whose transaction keeps failing is reported alone, the others of its
batch recorded."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from byggrygg_shared.auth import Role
from byggrygg_shared.contracts.privacy import Evidence
from byggrygg_shared.envelope import KafkaRecord, from_kafka_record
from byggrygg_shared.messaging import Backoff
from privacy_orchestrator.bootstrap import Runtime
from privacy_orchestrator.service_layer import reply_batches
from privacy_orchestrator.service_layer.reply_batches import BatchPolicy, Reply, record_batch
from privacy_orchestrator.service_layer.requests import REPLIES_CONSUMER

from .support import FAST_BACKOFF, Headers, eventually, on_topics, own_topics, person, produce
from .support import value as fetch_value
from .test_requests import (  # the fixture by name: pytest finds it in this module
    PARTICIPANTS,
    confirm_as_heihallo,
    heihallo_secret,  # noqa: F401
    reply_record,
)

REQUESTS = 12
REPLY_EVENT = "no.byggrygg.privacy-orchestrator.ReplyRecorded"


async def file_erasures(
    http: httpx.AsyncClient, headers: Headers, count: int
) -> list[dict[str, Any]]:
    staff = headers(person(Role.PLATFORM_STAFF))
    filed = []
    for _ in range(count):
        subject = person(Role.LEARNER)
        answer = await http.post(
            "/requests",
            json={"kind": "erasure", "subject_ref": subject.subject_ref},
            headers=staff,
        )
        assert answer.status_code == 201, answer.text
        filed.append(answer.json())
    return filed


def replies_for(topic: str, filed: list[dict[str, Any]]) -> list[KafkaRecord]:
    """Every participant's reply to every request, interleaved across requests (as they
    arrive from three participants working side by side)."""
    return [
        reply_record(
            topic,
            UUID(request["request_id"]),
            request["subject_ref"],
            participant,
            [Evidence(location=f"column {participant}.subject_ref", action="erased", count=1)],
        )
        for participant in PARTICIPANTS
        for request in filed
    ]


def decoded(records: list[KafkaRecord]) -> list[Reply]:
    found = []
    for item in records:
        received = from_kafka_record(item.headers, item.value, key=item.key)
        found.append((received.contract(), received))
    return found  # type: ignore[return-value]


async def recorded_replies(runtime: Runtime) -> int:
    return int(
        await fetch_value(
            runtime.pool, "SELECT count(*) FROM request_events WHERE event_type = $1", REPLY_EVENT
        )
    )


async def completion_records(runtime: Runtime) -> int:
    return int(await fetch_value(runtime.pool, "SELECT count(*) FROM completion_records"))


async def all_replied(
    http: httpx.AsyncClient, headers: Headers, filed: list[dict[str, Any]]
) -> bool:
    staff = headers(person(Role.PLATFORM_STAFF))
    for request in filed:
        answer = (await http.get(f"/requests/{request['request_id']}", headers=staff)).json()
        if not all(p["replied"] for p in answer["participants"].values()):
            return False
    return True


async def test_a_batch_of_many_requests_records_each_reply_once_and_completes_each_request(
    http: httpx.AsyncClient,
    runtime: Runtime,
    headers: Headers,
    heihallo_secret: str,  # noqa: F811 - the fixture imported above
) -> None:
    filed = await file_erasures(http, headers, REQUESTS)
    records = replies_for("privacy.replies.v1", filed)
    # Every reply twice in the batch (a participant's relay published it again).
    batch = decoded(records + records)

    policy = BatchPolicy(concurrency=4, requests_per_transaction=5)
    outcome = await record_batch(runtime.deps, batch, policy=policy)
    assert (outcome.recorded, outcome.requests, outcome.failed) == (
        REQUESTS * len(PARTICIPANTS),
        REQUESTS,
        (),
    )
    assert await recorded_replies(runtime) == REQUESTS * len(PARTICIPANTS)
    # Five requests per transaction: 12 requests' replies were claimed in three.
    transactions = await fetch_value(
        runtime.pool,
        "SELECT count(DISTINCT xmin::text) FROM inbox WHERE consumer = $1",
        REPLIES_CONSUMER,
    )
    assert transactions == 3
    assert await all_replied(http, headers, filed)

    # The same batch again (read again after a crash before the commit): nothing new.
    again = await record_batch(runtime.deps, batch, policy=policy)
    assert (again.recorded, again.requests, again.failed) == (0, REQUESTS, ())
    assert await recorded_replies(runtime) == REQUESTS * len(PARTICIPANTS)

    # HeiHallo confirms each: every request completes, one record each, the chain verifies.
    assert await completion_records(runtime) == 0
    for request in filed:
        confirmed = await confirm_as_heihallo(http, heihallo_secret, request)
        assert confirmed.status_code == 204, confirmed.text
    assert await completion_records(runtime) == REQUESTS
    staff = headers(person(Role.PLATFORM_STAFF))
    for request in filed:
        final = (await http.get(f"/requests/{request['request_id']}", headers=staff)).json()
        assert final["state"] == "completed"


async def test_a_failing_request_is_retried_and_reported_alone_the_rest_is_recorded(
    http: httpx.AsyncClient,
    runtime: Runtime,
    headers: Headers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    filed = await file_erasures(http, headers, 3)
    broken = UUID(filed[1]["request_id"])
    calls: dict[UUID, int] = {}
    record_replies = reply_batches.record_replies

    async def fails_for_one(deps: Any, group: Any) -> int:
        request_id = group[0][0].request_id
        calls[request_id] = calls.get(request_id, 0) + 1
        if request_id == broken:
            raise ConnectionError("the database went away")
        return await record_replies(deps, group)

    async def fails_together(deps: Any, groups: Any) -> int:
        if any(group[0][0].request_id == broken for group in groups):
            raise ConnectionError("the database went away")
        return await record_replies_together(deps, groups)

    record_replies_together = reply_batches.record_replies_together
    monkeypatch.setattr(reply_batches, "record_replies", fails_for_one)
    monkeypatch.setattr(reply_batches, "record_replies_together", fails_together)
    naps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        naps.append(seconds)

    outcome = await record_batch(
        runtime.deps,
        decoded(replies_for("privacy.replies.v1", filed)),
        policy=BatchPolicy(concurrency=2, max_attempts=3, backoff=Backoff(initial=0.1)),
        sleep=no_sleep,
    )
    assert outcome.recorded == 2 * len(PARTICIPANTS)
    [failed] = outcome.failed
    assert (failed.request_id, failed.attempts, len(failed.positions)) == (broken, 3, 3)
    assert isinstance(failed.error, ConnectionError)
    assert calls[broken] == 3
    assert naps == [0.1, 0.2]
    assert await recorded_replies(runtime) == 2 * len(PARTICIPANTS)


async def test_replies_on_kafka_are_read_in_batches_and_a_batch_read_again_records_nothing_twice(
    http: httpx.AsyncClient,
    runtime: Runtime,
    headers: Headers,
    kafka_bootstrap: str,
    new_topic: Any,
) -> None:
    filed = await file_erasures(http, headers, REQUESTS)
    topics = await own_topics(new_topic)
    records = replies_for(topics.replies, filed)
    poison = KafkaRecord(
        topic=topics.replies,
        key=records[0].key,
        value=b'{"request_id": "not a uuid"}',
        headers=records[0].headers,
    )
    # All on the topic before the consumer starts: its first reads are batches of many.
    published = [*records[:5], poison, *records[5:], *records]
    await produce(kafka_bootstrap, published)
    runtime.settings = on_topics(runtime.settings, topics, kafka_bootstrap, "po-batch")
    async with runtime.subscriptions_for(backoff=FAST_BACKOFF).running():
        await eventually(lambda: all_replied(http, headers, filed), "every reply recorded")
    assert await recorded_replies(runtime) == REQUESTS * len(PARTICIPANTS)
    # The record that is no reply went alone to the dead-letter topic, with its error.
    [dead] = await read_all(kafka_bootstrap, f"{topics.replies}.dlq", expect=1)
    assert dead.value == poison.value
    assert dict(dead.headers)["dlq_original_topic"] == topics.replies.encode()

    # A new consumer group reads every batch again from the start: nothing recorded twice.
    runtime.settings = on_topics(runtime.settings, topics, kafka_bootstrap, "po-batch-again")
    async with runtime.subscriptions_for(backoff=FAST_BACKOFF).running():
        await eventually(
            lambda: caught_up(kafka_bootstrap, runtime, end=len(published)),
            "the second group read everything",
        )
    assert await recorded_replies(runtime) == REQUESTS * len(PARTICIPANTS)
    assert len(await read_all(kafka_bootstrap, f"{topics.replies}.dlq", expect=2)) == 2


async def caught_up(bootstrap: str, runtime: Runtime, *, end: int) -> bool:
    """The orchestrator's consumer group committed ``end`` on the replies topic (one
    partition: a test topic's)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(
            runtime.settings.privacy_orchestrator_consumer_group
        )
    finally:
        await admin.close()
    topic = runtime.settings.privacy_orchestrator_replies_topic
    return [position.offset for tp, position in committed.items() if tp.topic == topic] == [end]


async def read_all(bootstrap: str, topic: str, *, expect: int) -> list[Any]:
    """Every record of ``topic`` once at least ``expect`` are there (polled)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[Any] = []
    try:

        async def enough() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                found.extend(batch)
            return len(found) >= expect

        await eventually(enough, f"{expect} record(s) on {topic}")
    finally:
        await consumer.stop()
    return found
