"""``to_kafka_record`` builds headers itself and ``from_kafka_record`` reads them itself (hot
paths); the cloudevents SDK is the oracle of both.

For every generated event the record must be byte-identical (topic, key, value, every header
name and value, header order) to the record the SDK's Kafka binary binding produces from the
same attributes and data, which is how ``to_kafka_record`` was written before.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from byggrygg_shared.envelope import (
    KafkaRecord,
    MalformedEvent,
    from_kafka_record,
    kafka_record,
    to_kafka_record,
)
from byggrygg_shared.eventstore import StoredEvent

FORMAT = JSONFormat()


def sdk_record(stored: StoredEvent, *, topic: str, source_service: str | None) -> KafkaRecord:
    """The reference: the event built as an SDK ``CloudEvent`` and converted by its binding."""
    meta = stored.metadata
    service = source_service or str(meta["source_service"])
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(meta["event_id"]),
        "source": f"/services/{service}",
        "type": f"{stored.event_type}.v{stored.event_version}",
        "time": datetime.fromisoformat(str(meta["occurred_at"])),
        "datacontenttype": "application/json",
        "correlationid": str(meta["correlation_id"]),
    }
    optional = {
        "subject": meta.get("subject_ref"),
        "dataschema": meta.get("dataschema"),
        "causationid": meta.get("causation_id"),
        "tenantid": meta.get("tenant_id"),
    }
    attributes.update({name: str(value) for name, value in optional.items() if value})
    event = CloudEvent(attributes=attributes, data=stored.payload)
    message = ce_kafka.to_binary(event, FORMAT, key_mapper=lambda _: stored.stream_id)
    key = message.key.encode() if isinstance(message.key, str) else message.key or b""
    return KafkaRecord(
        topic=topic, key=key, value=message.value, headers=sorted(message.headers.items())
    )


# Any text a row could carry, including non-ASCII and control characters (no lone surrogates:
# neither side can UTF-8 encode them).
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
non_empty = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=offsets | st.just(UTC)
)
optional_value = st.none() | st.just("") | non_empty | st.integers()


@st.composite
def stored_events(draw: st.DrawFn) -> StoredEvent:
    metadata: dict[str, Any] = {
        "event_id": draw(st.uuids().map(str) | non_empty),
        "occurred_at": draw(times).isoformat(),
        "correlation_id": draw(non_empty | st.uuids().map(str) | st.integers()),
        "causation_id": draw(optional_value),
        "tenant_id": draw(optional_value),
        "subject_ref": draw(optional_value),
        "source_service": draw(non_empty),
        "topic": draw(non_empty),
    }
    if draw(st.booleans()):
        metadata["dataschema"] = draw(optional_value)
    return StoredEvent(
        global_position=draw(st.integers(min_value=1)),
        stream_id=draw(text),
        version=draw(st.integers(min_value=1, max_value=10_000)),
        event_type=draw(non_empty),
        event_version=draw(st.integers(min_value=1, max_value=99)),
        payload=draw(st.dictionaries(text, json_values, max_size=8)),
        metadata=metadata,
        recorded_at=datetime(2025, 1, 1, tzinfo=UTC),
        published_at=None,
    )


@settings(max_examples=1000, deadline=None)
@given(stored=stored_events(), topic=non_empty, source_service=st.none() | non_empty)
def test_record_is_byte_identical_to_the_sdk_binding(
    stored: StoredEvent, topic: str, source_service: str | None
) -> None:
    ours = to_kafka_record(stored, topic=topic, source_service=source_service)
    assert ours == sdk_record(stored, topic=topic, source_service=source_service)


def test_many_realistic_events_are_byte_identical_to_the_sdk_binding() -> None:
    """20,000 events shaped like the platform's (the relay benchmark's volume)."""
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for n in range(20_000):
        stored = StoredEvent(
            global_position=n + 1,
            stream_id=f"probe-{uuid.UUID(int=n).hex}",
            version=n % 100 + 1,
            event_type="no.byggrygg.paritytest.ProbeRecorded",
            event_version=1 + n % 3,
            payload={
                "subject_ref": f"subj_{n:032x}",
                "course_id": str(uuid.UUID(int=n * 7919)),
                "seq": n,
                "score": n % 101,
                "ratio": n / 7,
                "note": f"enc:v1:{n:016x}:Ærlig øl på Åsen",
            },
            metadata={
                "event_id": str(uuid.UUID(int=n + 10**9)),
                "occurred_at": (base + timedelta(microseconds=n * 997)).isoformat(),
                "correlation_id": str(uuid.UUID(int=n // 10)),
                "causation_id": None if n % 2 else str(uuid.UUID(int=n + 1)),
                "tenant_id": None if n % 3 else f"org-{n % 17}",
                "subject_ref": f"subj_{n:032x}",
                "source_service": "paritytest",
                "topic": "paritytest.probe.v1",
                "dataschema": "urn:byggrygg:schema:no.byggrygg.paritytest.ProbeRecorded:v1",
            },
            recorded_at=base,
            published_at=None,
        )
        for service in (None, "bench"):
            ours = to_kafka_record(stored, topic=stored.topic, source_service=service)
            assert ours == sdk_record(stored, topic=stored.topic, source_service=service), n


def test_datetime_in_data_is_written_like_the_sdk_writes_it() -> None:
    stored = StoredEvent(
        global_position=1,
        stream_id="s",
        version=1,
        event_type="no.byggrygg.paritytest.Dated",
        event_version=1,
        payload={"at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), "local": datetime(2025, 1, 2)},
        metadata={
            "event_id": "e-1",
            "occurred_at": "2025-01-02T03:04:05+00:00",
            "correlation_id": "c",
            "source_service": "paritytest",
        },
        recorded_at=datetime(2025, 1, 1, tzinfo=UTC),
        published_at=None,
    )
    assert to_kafka_record(stored, topic="t", source_service=None) == sdk_record(
        stored, topic="t", source_service=None
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("event_id", ""), ("occurred_at", "2025-01-02T03:04:05")],
    ids=["empty id", "naive time"],
)
def test_events_the_sdk_rejects_are_rejected(field: str, value: str) -> None:
    metadata = {
        "event_id": "e-1",
        "occurred_at": "2025-01-02T03:04:05+00:00",
        "correlation_id": "c",
        "source_service": "paritytest",
        field: value,
    }
    stored = StoredEvent(
        global_position=1,
        stream_id="s",
        version=1,
        event_type="no.byggrygg.paritytest.Rejected",
        event_version=1,
        payload={},
        metadata=metadata,
        recorded_at=datetime(2025, 1, 1, tzinfo=UTC),
        published_at=None,
    )
    with pytest.raises(BaseCloudEventException):
        sdk_record(stored, topic="t", source_service=None)
    with pytest.raises(ValueError, match="CloudEvent"):
        to_kafka_record(stored, topic="t", source_service=None)


def test_kafka_record_from_row_parts_equals_the_stored_event_record() -> None:
    """The relay's entry point (row parts, no ``StoredEvent``) builds the same record."""
    meta = {
        "event_id": "e-1",
        "occurred_at": "2025-01-02T03:04:05.5+01:00",
        "correlation_id": "c",
        "tenant_id": "org-1",
        "source_service": "paritytest",
    }
    stored = StoredEvent(
        global_position=1,
        stream_id="s-1",
        version=1,
        event_type="no.byggrygg.paritytest.Parts",
        event_version=2,
        payload={"a": [1, 2.5, "å"]},
        metadata=meta,
        recorded_at=datetime(2025, 1, 1, tzinfo=UTC),
        published_at=None,
    )
    record = kafka_record(
        topic="t",
        stream_id="s-1",
        ce_type="no.byggrygg.paritytest.Parts.v2",
        payload={"a": [1, 2.5, "å"]},
        metadata=meta,
        source_service="relay",
    )
    assert record == to_kafka_record(stored, topic="t", source_service="relay")
    assert from_kafka_record(record.headers, record.value, key=record.key).source == (
        "/services/relay"
    )


# --- reading: ``from_kafka_record`` against the SDK's ``kafka.from_binary`` -----------------


def sdk_received(
    headers: list[tuple[str, bytes]], value: bytes | None, key: bytes | None
) -> dict[str, Any] | None:
    """The reference reading: the SDK's binding into a v1 ``CloudEvent``, as
    ``from_kafka_record`` read records before; None where it refuses the record (or where it
    would invent a required attribute, or its data is not a JSON object)."""
    raw = {name.lower(): bytes(item) for name, item in headers}
    if not all(raw.get(f"ce_{name}") for name in ("specversion", "id", "source", "type")):
        return None
    try:
        event = ce_kafka.from_binary(
            ce_kafka.KafkaMessage(headers=raw, key=key, value=value or b""), FORMAT, CloudEvent
        )
    except (BaseCloudEventException, UnicodeDecodeError, ValueError, OverflowError):
        return None
    data = event.get_data()
    if not isinstance(data, dict):
        return None
    correlation = event.get_extension("correlationid")
    return {
        "id": event.get_id(),
        "type": event.get_type(),
        "source": event.get_source(),
        "subject": event.get_subject(),
        "time": event.get_time() if "ce_time" in raw else None,
        "correlation_id": str(correlation) if correlation else event.get_id(),
        "causation_id": event.get_extension("causationid") or None,
        "tenant_id": event.get_extension("tenantid") or None,
        "data": data,
        "dataschema": event.get_dataschema(),
    }


def ours(
    headers: list[tuple[str, bytes]], value: bytes | None, key: bytes | None
) -> dict[str, Any] | None:
    try:
        received = from_kafka_record(headers, value, key=key)
    except MalformedEvent:
        return None
    return {
        "id": received.id,
        "type": received.type,
        "source": received.source,
        "subject": received.subject,
        "time": received.time,
        "correlation_id": received.correlation_id,
        "causation_id": received.causation_id,
        "tenant_id": received.tenant_id,
        "data": received.data,
        "dataschema": received.dataschema,
    }


header_names = st.sampled_from(
    [
        "ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject",
        "ce_dataschema", "ce_correlationid", "ce_causationid", "ce_tenantid", "content-type",
        "CE_Subject", "ce_data", "ce_Bad-Name", "ce_x1", "ce_", "traceparent",
    ]
)  # fmt: skip
header_values = st.one_of(
    st.just(b""),
    st.just(b"1.0"),
    st.just(b"0.3"),
    st.just(b"application/json"),
    st.just(b"application/cloudevents+json; charset=utf-8"),
    st.just(b"text/plain"),
    st.just(b"\xff\xfe"),
    st.sampled_from(
        [
            b"2025-01-02T03:04:05Z",
            b"2025-01-02T03:04:05.123456Z",
            b"2025-01-02T03:04:05+01:00",
            b"2025-01-02T03:04:05",
            b"2025-01-02",
            b"2025-13-40T99:99:99Z",
            b"20250102T030405Z",
            b"2025-01-02T03:04:05.1Z",
            b"not a time",
        ]
    ),
    non_empty.map(str.encode),
)
values = st.one_of(
    st.none(),
    st.just(b""),
    st.just(b"[]"),
    st.just(b"not json"),
    st.just(b"\xff"),
    st.dictionaries(text, json_values, max_size=4).map(lambda d: json.dumps(d).encode()),
)


@st.composite
def received_records(
    draw: st.DrawFn,
) -> tuple[list[tuple[str, bytes]], bytes | None, bytes | None]:
    """Mostly well-formed records of the platform (from ``to_kafka_record``), then mutated:
    headers replaced, dropped or added, the value and key swapped for odd ones."""
    stored = draw(stored_events())
    try:
        record = to_kafka_record(stored, topic="t", source_service=None)
        headers = list(record.headers)
        value: bytes | None = record.value
        key: bytes | None = record.key
    except ValueError:  # an event the writer refuses: start from nothing
        headers, value, key = [], b"{}", None
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        action = draw(st.sampled_from(["set", "drop", "value", "key"]))
        if action == "set":
            name, item = draw(header_names), draw(header_values)
            headers = [(n, v) for n, v in headers if n.lower() != name.lower()] + [(name, item)]
        elif action == "drop" and headers:
            headers.pop(draw(st.integers(min_value=0, max_value=len(headers) - 1)))
        elif action == "value":
            value = draw(values)
        else:
            key = draw(st.none() | st.just(b"\xff") | non_empty.map(str.encode))
    return headers, value, key


@settings(max_examples=3000, deadline=None)
@given(record=received_records())
def test_reading_accepts_and_reads_exactly_what_the_sdk_binding_does(
    record: tuple[list[tuple[str, bytes]], bytes | None, bytes | None],
) -> None:
    headers, value, key = record
    assert ours(headers, value, key) == sdk_received(headers, value, key)


def test_reading_agrees_with_the_sdk_on_the_time_forms_it_parses() -> None:
    base = [("ce_specversion", b"1.0"), ("ce_id", b"i"), ("ce_source", b"/s"), ("ce_type", b"t")]
    for moment in (
        b"2025-01-02T03:04:05Z",
        b"2025-01-02T03:04:05.000001Z",
        b"2025-01-02T03:04:05.5+02:00",
        b"2025-01-02T03:04:05,5Z",
        b"2025-01-02T03:04Z",
    ):
        headers = [*base, ("ce_time", moment)]
        assert ours(headers, b"{}", None) == sdk_received(headers, b"{}", None), moment
