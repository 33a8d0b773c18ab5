"""The benchmark's event and its deterministic workload: what gets appended and published.

``ProbeRecorded`` is a small contract shaped like the platform's events (a pseudonymous
``subject_ref``, an aggregate id, a few scalars and one key-ring-token-sized string). It is not
registered in the contract registry: the event store and the relay never resolve contracts,
and the platform's registry stays free of bench types.

Every id, time and value comes from a seeded ``random.Random`` and a fixed clock, so two runs
append byte-identical payloads. Each ``PlannedAppend`` also carries the exact rows the event
store would write, which is what the raw-asyncpg baseline inserts.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, cast

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.envelope import EventMetadata
from byggrygg_shared.eventstore import metadata_document

__all__ = ["EPOCH", "PlannedAppend", "ProbeRecorded", "RawRow", "plan_appends", "routed_to"]

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)

# (stream_id, version, event_type, event_version, payload json, metadata json)
RawRow = tuple[str, int, str, int, str, str]


class ProbeRecorded(IntegrationEvent):
    """A learner's probe was recorded (bench-only; mirrors a typical small domain event)."""

    event_type: ClassVar[str] = "no.byggrygg.bench.ProbeRecorded"
    source_service: ClassVar[str] = "bench"
    topic: ClassVar[str] = "bench.probe.v1"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"note"})

    subject_ref: str
    course_id: str
    seq: int
    score: int
    note: str


def routed_to(topic: str) -> type[ProbeRecorded]:
    """A copy of ``ProbeRecorded`` whose events go to ``topic`` (the relay reads it per row)."""
    routed = type(ProbeRecorded.__name__, (ProbeRecorded,), {"topic": topic})
    contract = cast(type[ProbeRecorded], routed)
    contract.check_contract()
    return contract


@dataclass(frozen=True)
class PlannedAppend:
    """One append (one transaction): a new stream and its events, plus the rows they make."""

    stream_id: str
    events: tuple[ProbeRecorded, ...]
    metadata: tuple[EventMetadata, ...]
    rows: tuple[RawRow, ...]


def plan_appends(
    contract: type[ProbeRecorded],
    *,
    transactions: int,
    events_per_tx: int,
    seed: int,
    stream_prefix: str = "probe",
) -> list[PlannedAppend]:
    """``transactions`` appends of ``events_per_tx`` events each, each to a new stream."""
    rng = random.Random(seed)

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    plan: list[PlannedAppend] = []
    for tx in range(transactions):
        stream_id = f"{stream_prefix}-{new_id().hex}"
        subject_ref = f"subj_{rng.getrandbits(128):032x}"
        occurred_at = EPOCH + timedelta(milliseconds=tx)
        events = tuple(
            contract(
                subject_ref=subject_ref,
                course_id=str(new_id()),
                seq=n + 1,
                score=rng.randrange(101),
                note=f"enc:v1:{rng.getrandbits(64):016x}:{rng.randbytes(36).hex()}",
            )
            for n in range(events_per_tx)
        )
        correlation_id = str(new_id())
        metadata = tuple(
            EventMetadata(
                event_id=new_id(),
                occurred_at=occurred_at,
                correlation_id=correlation_id,
                subject_ref=subject_ref,
            )
            for _ in events
        )
        rows = tuple(
            (
                stream_id,
                version,
                contract.event_type,
                contract.event_version,
                event.model_dump_json(),
                json.dumps(metadata_document(event, meta)),
            )
            for version, (event, meta) in enumerate(zip(events, metadata, strict=True), start=1)
        )
        plan.append(PlannedAppend(stream_id, events, metadata, rows))
    return plan
