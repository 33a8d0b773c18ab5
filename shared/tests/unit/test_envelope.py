"""CloudEvents binary-mode envelope: what goes on Kafka and how it is read back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar

import pytest

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.registry import register
from byggrygg_shared.envelope import (
    EventMetadata,
    MalformedEvent,
    from_kafka_record,
    to_kafka_record,
)
from byggrygg_shared.eventstore import StoredEvent, metadata_document

FIXED = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


@register
class ParcelShipped(IntegrationEvent):
    event_type: ClassVar[str] = "no.byggrygg.envelopetest.ParcelShipped"
    source_service: ClassVar[str] = "envelopetest"
    topic: ClassVar[str] = "envelopetest.parcel.v1"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"recipient"})

    subject_ref: str
    parcel_id: str
    recipient: str


def stored(
    event: IntegrationEvent, meta: EventMetadata, *, stream_id: str = "parcel-1"
) -> StoredEvent:
    return StoredEvent(
        global_position=7,
        stream_id=stream_id,
        version=1,
        event_type=type(event).event_type,
        event_version=type(event).event_version,
        payload=event.model_dump(mode="json"),
        metadata=metadata_document(event, meta),
        recorded_at=FIXED,
        published_at=None,
    )


def sample() -> tuple[ParcelShipped, EventMetadata]:
    event = ParcelShipped(subject_ref="subj_" + "a" * 32, parcel_id="p-1", recipient="enc:v1:x")
    meta = EventMetadata.new(
        correlation_id="corr-1",
        causation_id="cause-1",
        tenant_id="org-9",
        clock=lambda: FIXED,
        new_id=lambda: uuid.UUID(int=1),
    )
    return event, meta


def test_record_carries_cloudevents_binary_headers_and_json_value() -> None:
    event, meta = sample()
    record = to_kafka_record(stored(event, meta), topic="t1")
    headers = dict(record.headers)

    assert record.topic == "t1"
    assert record.key == b"parcel-1"
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_id"] == str(uuid.UUID(int=1)).encode()
    assert headers["ce_type"] == b"no.byggrygg.envelopetest.ParcelShipped.v1"
    assert headers["ce_source"] == b"/services/envelopetest"
    assert headers["ce_subject"] == ("subj_" + "a" * 32).encode()
    assert headers["ce_correlationid"] == b"corr-1"
    assert headers["ce_causationid"] == b"cause-1"
    assert headers["ce_tenantid"] == b"org-9"
    assert headers["ce_time"] == b"2025-01-02T03:04:05.123456Z"
    assert headers["content-type"] == b"application/json"
    assert headers["ce_dataschema"].endswith(b"no.byggrygg.envelopetest.ParcelShipped.v1.json")
    assert b'"parcel_id": "p-1"' in record.value or b'"parcel_id":"p-1"' in record.value


def test_round_trip_gives_back_the_attributes_and_the_contract() -> None:
    event, meta = sample()
    record = to_kafka_record(stored(event, meta), topic="t1", source_service="other")
    received = from_kafka_record(record.headers, record.value, key=record.key)

    assert received.id == str(meta.event_id)
    assert received.source == "/services/other"
    assert received.type == ParcelShipped.ce_type()
    assert received.subject == event.subject_ref
    assert received.time == FIXED
    assert received.correlation_id == "corr-1"
    assert received.causation_id == "cause-1"
    assert received.tenant_id == "org-9"
    assert received.key == b"parcel-1"
    assert received.event_type == ParcelShipped.event_type
    assert received.event_version == 1
    assert received.contract() == event


def test_headers_may_be_a_string_mapping_as_faststream_gives_them() -> None:
    event, meta = sample()
    record = to_kafka_record(stored(event, meta), topic="t1")
    as_strings = {name: value.decode() for name, value in record.headers}
    assert from_kafka_record(as_strings, record.value).id == str(meta.event_id)


def test_subject_defaults_to_the_events_subject_ref_and_is_omitted_when_absent() -> None:
    event, meta = sample()
    assert meta.subject_ref is None
    headers = dict(to_kafka_record(stored(event, meta), topic="t").headers)
    assert headers["ce_subject"] == event.subject_ref.encode()

    class Anonymous(IntegrationEvent):
        event_type: ClassVar[str] = "no.byggrygg.envelopetest.Tick"
        source_service: ClassVar[str] = "envelopetest"
        topic: ClassVar[str] = "envelopetest.tick.v1"
        n: int

    headers = dict(to_kafka_record(stored(Anonymous(n=1), meta), topic="t").headers)
    assert "ce_subject" not in headers


@pytest.mark.parametrize(
    ("headers", "value"),
    [
        ([], b"{}"),
        ([("ce_specversion", b"0.3")], b"{}"),
        (
            [
                ("ce_specversion", b"1.0"),
                ("ce_id", b"1"),
                ("ce_source", b"/s"),
                ("ce_type", b"x.v1"),
                ("content-type", b"application/json"),
            ],
            b"not json",
        ),
        (
            [
                ("ce_specversion", b"1.0"),
                ("ce_id", b"1"),
                ("ce_source", b"/s"),
                ("ce_type", b"x.v1"),
            ],
            b"[1, 2]",
        ),
        ([("ce_specversion", b"1.0"), ("ce_source", b"/s"), ("ce_type", b"x.v1")], b"{}"),
        (
            [
                ("ce_specversion", b"1.0"),
                ("ce_id", b"1"),
                ("ce_source", b"/s"),
                ("ce_type", b"x.v1"),
                ("ce_time", b"yesterday"),
            ],
            b"{}",
        ),
        (
            [
                ("ce_specversion", b"1.0"),
                ("ce_id", b"\xff\xfe"),
                ("ce_source", b"/s"),
                ("ce_type", b"x.v1"),
            ],
            b"{}",
        ),
    ],
)
def test_anything_but_a_binary_mode_cloudevent_with_a_json_object_is_malformed(
    headers: list[tuple[str, bytes]], value: bytes
) -> None:
    with pytest.raises(MalformedEvent):
        from_kafka_record(headers, value)


def test_shared_metadata_gives_each_event_of_an_append_its_own_stable_id() -> None:
    _, meta = sample()
    ids = [meta.for_index(i).event_id for i in range(3)]
    assert ids[0] == meta.event_id
    assert len(set(ids)) == 3
    assert ids == [meta.for_index(i).event_id for i in range(3)]


def test_metadata_caused_by_continues_the_chain() -> None:
    event, meta = sample()
    received = from_kafka_record(to_kafka_record(stored(event, meta), topic="t").headers, b"{}")
    follow = EventMetadata.caused_by(received, clock=lambda: FIXED, new_id=lambda: uuid.UUID(int=2))
    assert follow.correlation_id == "corr-1"
    assert follow.causation_id == str(meta.event_id)
    assert follow.tenant_id == "org-9"
    assert follow.subject_ref == event.subject_ref
    assert follow.event_id == uuid.UUID(int=2)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        EventMetadata.new(clock=lambda: datetime(2025, 1, 1))
