"""Free-text answers are never plaintext at rest or on the wire (R4, DESIGN §4): the answers
projection and the event store hold key-ring tokens, and so does the Kafka record the outbox
relay would publish; destroying the learner's key makes every copy read as erased."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer

from byggrygg_shared.envelope import from_kafka_record, to_kafka_record
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.outbox import make_idempotent_producer
from courses.bootstrap import Runtime

from .support import Steps, questions_of

SECRET = "Stillaset på blokk B vakler, sjefen vet det"


async def test_free_text_is_ciphertext_in_the_database_and_on_kafka(
    steps: Steps, runtime: Runtime, kafka_bootstrap: str, new_topic: Any
) -> None:
    organisation = uuid.uuid4()
    course = await steps.published_course()
    await steps.assign(course["course_id"], organisation)
    learner = await steps.licensed_learner(organisation)
    (enrolment,) = await steps.my_enrolments(learner)
    enrolment_id = enrolment["enrolment_id"]
    taken = await steps.http.get(f"/me/enrolments/{enrolment_id}", headers=learner.headers)
    question_id = questions_of(taken.json()["content"])["free_text"]["question_id"]
    response = await steps.http.put(
        f"/me/enrolments/{enrolment_id}/answers/{question_id}",
        json={"text": SECRET},
        headers=learner.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["text"] == SECRET  # the learner reads it back

    async with runtime.pool.acquire() as conn:
        # Nothing anywhere in the database holds the plaintext.
        dump = await conn.fetchval(
            "SELECT string_agg(t::text, '|') FROM (SELECT payload::text FROM events "
            "UNION ALL SELECT free_text FROM answers) t"
        )
        token = await conn.fetchval(
            "SELECT free_text FROM answers WHERE question_id = $1", uuid.UUID(question_id)
        )
        stored = [
            e
            for e in await EventStore().load(conn, f"enrolment-{enrolment_id}")
            if e.event_type.endswith("AnswerSubmitted")
        ]
    assert SECRET not in dump
    assert "Stillaset" not in dump
    assert token.startswith("enc:v1:")
    (answer_event,) = stored
    assert answer_event.payload["free_text"] == token

    # The record the outbox relay publishes (same envelope code), through a real broker.
    topic = await new_topic("courses-enrolment")
    record = to_kafka_record(answer_event, topic=topic)
    producer = make_idempotent_producer(kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, value=record.value, key=record.key, headers=record.headers
        )
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + 60
        received = None
        while received is None and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                received = batch[0]
    finally:
        await consumer.stop()
    assert received is not None
    assert SECRET.encode() not in received.value
    data = json.loads(received.value)
    assert data["free_text"].startswith("enc:v1:")
    event = from_kafka_record(received.headers, received.value)
    assert event.subject == learner.subject_ref
    assert event.tenant_id == str(organisation)

    # Crypto-shredding: once the learner's key is destroyed, staff read "[erased]".
    assert await runtime.keyring.shred(learner.subject_ref)
    staff_view = await steps.http.get(
        f"/enrolments/{enrolment_id}/answers", headers=steps.staff.headers
    )
    (erased,) = [a for a in staff_view.json() if a["question_id"] == question_id]
    assert erased["text"] == "[erased]"
    assert erased["text_erased"] is True
