"""``read_contract`` (a fast path for batch consumers) against its oracle: ``from_kafka_record``
and then ``contract()``, as consumers read records before it.

For every generated record, well-formed ones of real contracts and mutations of them (headers
set, dropped or duplicated, the payload's fields removed, added or given odd values, its bytes
spoiled in ways one JSON parser may read differently from another), both must give the same
verdict: the same contract and attributes, the same "passed over", or the same exception
with the same message.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from byggrygg_shared.contracts import courses
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.registry import UnknownEventType
from byggrygg_shared.envelope import (
    EventMetadata,
    ReceivedContract,
    from_kafka_record,
    kafka_record,
    read_contract,
)
from byggrygg_shared.eventstore import metadata_document

AT = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ACCEPTED = frozenset(
    {
        courses.EnrolmentStarted.event_type,
        courses.AnswerSubmitted.event_type,
        courses.CourseCompleted.event_type,
        courses.CourseAssigned.event_type,
    }
)
Headers = list[tuple[str, bytes | None]]


def _events() -> list[IntegrationEvent]:
    ids: dict[str, Any] = {
        "enrolment_id": uuid.uuid4(),
        "course_id": uuid.uuid4(),
        "course_version": 1,
        "subject_ref": f"subj_{uuid.uuid4().hex}",
        "organisation_id": uuid.uuid4(),
    }
    return [
        courses.EnrolmentStarted(
            **ids, user_id=uuid.uuid4(), origin="assignment", started_by="staff-x"
        ),
        courses.AnswerSubmitted(
            **ids,
            question_id=uuid.uuid4(),
            kind="single_choice",
            selected_option_ids=[uuid.uuid4()],
        ),
        courses.AnswerSubmitted(**ids, question_id=uuid.uuid4(), kind="free_text", free_text="t"),
        courses.CourseCompleted(**ids, completed_at=AT),
        courses.CourseAssigned(
            course_id=ids["course_id"], organisation_id=uuid.uuid4(), assigned_by="staff-x"
        ),
        # Not accepted here: passed over by both (after the same checks of the record).
        courses.CourseCreated(
            course_id=ids["course_id"],
            title="T",
            description="D",
            modules=[],
            created_by="staff-x",
        ),
    ]


EVENTS = _events()


def _record(event: IntegrationEvent) -> tuple[Headers, bytes, bytes]:
    metadata = EventMetadata.new(subject_ref=getattr(event, "subject_ref", None), clock=lambda: AT)
    record = kafka_record(
        topic="t",
        stream_id=f"s-{uuid.uuid4()}",
        ce_type=event.ce_type(),
        payload=event.model_dump(mode="json"),
        metadata=metadata_document(event, metadata),
        source_service="courses",
    )
    return list(record.headers), record.value, record.key


def oracle(headers: Headers, value: bytes | None, key: bytes | None) -> Any:
    """What a consumer made of the record before ``read_contract``."""
    try:
        event = from_kafka_record(headers, value, key=key)
        try:
            if event.event_type not in ACCEPTED:
                return None
        except UnknownEventType:
            return None
        return ReceivedContract.of(event)
    except Exception as error:  # compared by type and message
        return (type(error), str(error))


def ours(headers: Headers, value: bytes | None, key: bytes | None) -> Any:
    try:
        return read_contract(headers, value, key=key, accepted=ACCEPTED)
    except Exception as error:
        return (type(error), str(error))


header_names = st.sampled_from(
    [
        "ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject",
        "ce_dataschema", "ce_correlationid", "ce_causationid", "ce_tenantid", "content-type",
        "CE_Subject", "ce_data", "ce_Bad-Name", "ce_x1", "traceparent",
    ]
)  # fmt: skip
header_values = st.sampled_from(
    [
        b"", b"1.0", b"0.3", b"application/json", b"application/json; charset=utf-8",
        b"text/plain", b"\xff\xfe", b"2025-01-02T03:04:05Z", b"2025-01-02T03:04:05.123456Z",
        b"2025-01-02T03:04:05+01:00", b"2025-01-02T03:04:05", b"not a time",
        b"no.byggrygg.courses.CourseCompleted.v1", b"no.byggrygg.courses.CourseCompleted.v2",
        b"no.byggrygg.courses.CourseCompleted", b"no.byggrygg.nothing.Here.v1", b"x",
    ]
) | st.none()  # fmt: skip
odd_json = st.sampled_from(
    [
        None, True, 0, 1.0, 1.5, -1, 2**70, "", "x", "\ud800", "a\x00b", [], {}, [1],
        "2026-03-10T09:00:00Z", "1", "single_choice", "nope", str(uuid.uuid4()),
        [str(uuid.uuid4())],
    ]
)  # fmt: skip


def _spoil(value: bytes, how: str) -> bytes:
    match how:
        case "bom":
            return b"\xef\xbb\xbf" + value
        case "truncate":
            return value[:-1]
        case "trailing":
            return value + b"x"
        case "trailing-space":
            return value + b" \n"
        case "bad-utf8":
            return value[:-1] + b'"\xff"}'
        case "control":
            return value.replace(b'"', b'"\x01', 1)
        case "duplicate":  # a second copy of the first field, the JSON parsers' "last wins"
            try:
                first = json.loads(value)
            except ValueError:  # spoiled already
                return value
            if not isinstance(first, dict) or not first:
                return value
            name = next(iter(first))
            return value[:-1] + b"," + json.dumps({name: "other"})[1:].encode()
        case "array":
            return b"[" + value + b"]"
        case "nan":
            return value[:-1] + b', "scale_value": NaN}'
        case _:
            return value


@st.composite
def records(draw: st.DrawFn) -> tuple[Headers, bytes | None, bytes | None]:
    headers, value, key = _record(draw(st.sampled_from(EVENTS)))
    data = json.loads(value)
    value_out: bytes | None = value
    key_out: bytes | None = key
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        action = draw(st.sampled_from(["header", "drop", "duplicate", "field", "remove", "spoil"]))
        if action == "header":
            name, item = draw(header_names), draw(header_values)
            headers = [(n, v) for n, v in headers if n != name] + [(name, item)]
        elif action == "drop" and headers:
            headers.pop(draw(st.integers(min_value=0, max_value=len(headers) - 1)))
        elif action == "duplicate" and headers:
            headers.append(draw(st.sampled_from(headers)))
        elif action == "field":
            name = draw(st.sampled_from([*data, "unexpected"]))
            data[name] = draw(odd_json)
            value_out = json.dumps(data).encode()
        elif action == "remove" and data:
            del data[draw(st.sampled_from(sorted(data)))]
            value_out = json.dumps(data).encode()
        elif action == "spoil" and value_out:
            how = draw(
                st.sampled_from(
                    [
                        "bom", "truncate", "trailing", "trailing-space", "bad-utf8", "control",
                        "duplicate", "array", "nan", "empty", "key",
                    ]
                )
            )  # fmt: skip
            if how == "empty":
                value_out = draw(st.sampled_from([b"", None]))
            elif how == "key":
                key_out = draw(st.sampled_from([None, b"\xff", b"k"]))
            else:
                value_out = _spoil(value_out, how)
    return headers, value_out, key_out


@settings(max_examples=3000, deadline=None)
@given(record=records())
def test_read_contract_gives_the_verdict_of_from_kafka_record_and_contract(
    record: tuple[Headers, bytes | None, bytes | None],
) -> None:
    headers, value, key = record
    assert ours(headers, value, key) == oracle(headers, value, key)


def test_the_platforms_records_are_read_and_others_passed_over() -> None:
    for event in EVENTS:
        headers, value, key = _record(event)
        read = read_contract(headers, value, key=key, accepted=ACCEPTED)
        if event.event_type in ACCEPTED:
            assert read is not None
            assert read.contract == event
            assert read.event_type == event.event_type
            assert read.time == AT
            assert read.source == "/services/courses"
        else:
            assert read is None


def test_a_mapping_of_headers_as_faststream_gives_them_reads_alike() -> None:
    headers, value, key = _record(EVENTS[0])
    as_mapping = {name: item.decode() for name, item in headers if item is not None}
    assert read_contract(as_mapping, value, key=key, accepted=ACCEPTED) == read_contract(
        headers, value, key=key, accepted=ACCEPTED
    )
