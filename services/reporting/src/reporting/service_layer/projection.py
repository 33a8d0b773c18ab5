"""The read models' projection: a batch of Kafka records decoded, then applied in one go.

The live subscribers (``entrypoints.consumers``: one transaction per fetched batch) and the
rebuild (``service_layer.rebuild``) both go through ``decode_records`` and
``apply_or_isolate``, so a rebuild from offset zero produces the same rows as the live
projection; ``apply_event`` is the same path for one event.

- **Decoding** (``decode_records``): a record that is not a CloudEvent or whose payload does
  not validate is *unreadable* (the subscribers dead-letter it, the rebuild skips it); events
  of types not projected are passed over.
- **Applying** (``apply_batch``): courses' catalogue events one by one
  (``catalogue_rows``), the enrolment events a segment at a time with one statement per table
  (``enrolment_rows``), the privacy topics' events to the ops read model (``ops_projection``).
  Every write is an idempotent upsert keyed by the read model's primary key, so a redelivered
  or replayed batch leaves the rows as they were and no inbox is needed; events of one
  enrolment share a Kafka key and arrive in order.
- **A record the database refuses** (a value out of a column's range: ``RECORD_ERRORS``) would
  fail its whole batch; ``apply_or_isolate`` then applies the batch again one record per
  savepoint and reports the refused ones (dead-lettered or skipped as unreadable ones are).
  On request (``bugs_too``: the live projection's last attempt, ``batch_attempts``) a record
  that makes the code raise anything else is isolated the same way; errors of the
  infrastructure (``failures.TRANSIENT_ERRORS``) never are: they fail the batch.

Privacy: people erased on request (``erased_subjects``) are never linked again (R16), and the
live projection holds their subject locks for the whole batch (``enrolment_rows``). Free text
is stored only as the key-ring token it travels as.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import asyncpg
from aiokafka import ConsumerRecord

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.registry import UnknownEventType
from byggrygg_shared.envelope import ReceivedContract, ReceivedEvent, read_contract
from byggrygg_shared.failures import RECORD_ERRORS, is_record_error, is_transient
from byggrygg_shared.messaging import PERMANENT_ERRORS
from reporting.service_layer import catalogue_rows, enrolment_rows
from reporting.service_layer.enrolment_rows import (
    EnrolmentEvent,
    erased_among,
    lock_subject,
    unlink_enrolments,
)
from reporting.service_layer.event_time import period_of
from reporting.service_layer.ops_projection import OPS_EVENT_TYPES, apply_ops_contract

__all__ = [
    "ALL_EVENT_TYPES",
    "COURSE_EVENT_TYPES",
    "OPS_EVENT_TYPES",
    "RECORD_ERRORS",
    "Decoded",
    "Projectable",
    "Rejected",
    "apply_batch",
    "apply_event",
    "apply_or_isolate",
    "decode_records",
    "lock_subject",
    "period_of",
    "unlink_enrolments",
]

COURSE_EVENT_TYPES: Final = frozenset(catalogue_rows.HANDLERS) | enrolment_rows.EVENT_TYPES
ALL_EVENT_TYPES: Final = COURSE_EVENT_TYPES | OPS_EVENT_TYPES

# Records per batch, live and in the rebuild: one transaction (and, live, one offset commit)
# each. 2,000 rather than 500: a batch's fixed costs (the statements' round trips and plans,
# the commit's WAL flush, the offset commit) then weigh a quarter as much per record, about a
# fifth more throughput on the projector bench; an erasure waits for at most one batch's
# transaction (a few tenths of a second) for its subject lock.
BATCH_MAX_RECORDS: Final = 2000


@dataclass(frozen=True, slots=True)
class Projectable:
    """One record's event, decoded and validated; ``position`` is its record's in the batch."""

    position: int
    event: ReceivedContract

    @property
    def contract(self) -> IntegrationEvent:
        return self.event.contract


@dataclass(frozen=True)
class Rejected:
    """A record of the batch that is not projected: why, and after how many attempts."""

    position: int
    error: BaseException
    attempts: int = 1


@dataclass(frozen=True)
class Decoded:
    """A batch's records: the events to apply, and the unreadable ones."""

    items: tuple[Projectable, ...]
    unreadable: tuple[Rejected, ...]


def _decode_event(
    event: ReceivedEvent, accepted: frozenset[str], position: int
) -> Projectable | None:
    try:
        if event.event_type not in accepted:
            return None
    except UnknownEventType:  # not even a type string of the platform's
        return None
    return Projectable(position, ReceivedContract.of(event))


def decode_records(
    records: Sequence[ConsumerRecord[Any, Any]], accepted: frozenset[str]
) -> Decoded:
    """Decode each record: the events of the ``accepted`` types, and those that cannot be
    read (each alone: a bad record does not spoil the others).

    ``envelope.read_contract``: each record checked to be a CloudEvent of a known type whose
    payload validates against its contract, read straight from its bytes (the projection
    needs the contract and the time, not the JSON document)."""
    items: list[Projectable] = []
    unreadable: list[Rejected] = []
    for position, record in enumerate(records):
        try:
            event = read_contract(
                record.headers or (), record.value, key=record.key, accepted=accepted
            )
        except PERMANENT_ERRORS as error:
            unreadable.append(Rejected(position, error))
            continue
        if event is not None:
            items.append(Projectable(position, event))
    return Decoded(tuple(items), tuple(unreadable))


def _enrolment_events(
    items: Sequence[Projectable],
) -> list[tuple[ReceivedContract, EnrolmentEvent]]:
    return [
        (item.event, cast(EnrolmentEvent, item.contract))
        for item in items
        if item.event.event_type in enrolment_rows.EVENT_TYPES
    ]


async def apply_batch(
    conn: asyncpg.Connection, items: Sequence[Projectable], *, lock_subjects: bool = True
) -> None:
    """Apply ``items`` (in the order read) in the caller's transaction.

    ``lock_subjects`` takes the subject lock of every person in the batch first (the live
    projection: see ``enrolment_rows.erased_among``). The rebuild passes False: it writes to
    copies no erasure touches, re-applies the erasures made meanwhile before the swap, and
    while it holds the live tables exclusively an erasure may hold a person's lock waiting for
    them: taking that lock would deadlock.
    """
    enrolment_events = _enrolment_events(items)
    # Before any write (the batch's lock order rule).
    erased = await erased_among(
        conn, (event.subject_ref for _, event in enrolment_events), lock=lock_subjects
    )
    for item in items:
        handler = catalogue_rows.HANDLERS.get(item.event.event_type)
        if handler is not None:
            await handler(conn, item.event, item.contract)
        elif item.event.event_type in OPS_EVENT_TYPES:
            await apply_ops_contract(conn, item.contract)
    # Catalogue, ops and enrolment events write disjoint tables: their relative order is free.
    await enrolment_rows.apply_enrolment_events(conn, enrolment_events, erased)


async def apply_or_isolate(
    conn: asyncpg.Connection,
    items: Sequence[Projectable],
    *,
    lock_subjects: bool = True,
    bugs_too: bool = False,
    failed_before: int = 0,
) -> list[Rejected]:
    """Apply the batch in a savepoint of the caller's transaction; if a record fails it, apply
    the batch again one record per savepoint and return the records that still fail (in read
    order, the others applied as one by one would).

    A record fails the batch when the database refuses its values (``RECORD_ERRORS``) and,
    with ``bugs_too``, when the code raises anything else that is not transient (a bug the
    record triggers). Any other error raises: the caller's transaction fails and the batch is
    applied again; above all a transient one (``failures.is_transient``: the connection, the
    server) always raises, from the batch or from any record, so that no healthy record is
    ever reported. ``failed_before`` is how many times the caller already tried the batch
    (the attempts the rejected records report: those, the batch's here, and their own).
    """

    def isolates(error: Exception) -> bool:
        if is_transient(error):
            return False
        return bugs_too or is_record_error(error)

    try:
        async with conn.transaction():
            await apply_batch(conn, items, lock_subjects=lock_subjects)
    except Exception as error:
        if not isolates(error):
            raise
    else:
        return []
    # Rare: the slow path, exact all the same (a batch of one is applied as one by one). It
    # runs outside the handler above, so a record's error is not chained to the batch's.
    return await _apply_one_by_one(
        conn,
        items,
        isolates,
        lock_subjects=lock_subjects,
        attempts=failed_before + 2,
    )


async def _apply_one_by_one(
    conn: asyncpg.Connection,
    items: Sequence[Projectable],
    isolates: Callable[[Exception], bool],
    *,
    lock_subjects: bool,
    attempts: int,
) -> list[Rejected]:
    rejected: list[Rejected] = []
    # The locks again, up front and in sorted order (the failed savepoint released them):
    # taking them per record would break the lock order rule of ``erased_among``.
    await erased_among(
        conn, (event.subject_ref for _, event in _enrolment_events(items)), lock=lock_subjects
    )
    for item in items:
        try:
            async with conn.transaction():
                await apply_batch(conn, [item], lock_subjects=lock_subjects)
        except Exception as error:
            # The savepoint's rollback went through (else its own error would be here, and
            # transient): the connection is sound and the error is this record's.
            if not isolates(error):
                raise
            rejected.append(Rejected(item.position, error, attempts=attempts))
    return rejected


async def apply_event(conn: asyncpg.Connection, event: ReceivedEvent) -> bool:
    """Apply one event of courses' topics (a batch of one); False if it is not one of
    reporting's (passed over). Raises on a malformed event of a known type."""
    item = _decode_event(event, COURSE_EVENT_TYPES, 0)
    if item is None:
        return False
    await apply_batch(conn, [item])
    return True
