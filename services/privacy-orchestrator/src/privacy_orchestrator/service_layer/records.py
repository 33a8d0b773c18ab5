"""Completion records (R19): append one when a request ends, read them, export them, and
sign a checkpoint of the chain's head to keep outside the database (``domain.anchors``).

`append_completion_record` is what the request workflow calls once every participant and
sub-processor has answered. It may run inside the workflow's own unit of work (pass `conn`),
so the record commits together with the request's final state; otherwise it opens one.
Appending again for the same request returns the record it already has (a redelivered
completion does not add a second record).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import asyncpg

from byggrygg_shared.db import transaction
from privacy_orchestrator.domain.anchors import build_checkpoint
from privacy_orchestrator.domain.chain import SealedRecord, seal
from privacy_orchestrator.domain.export import ChainHead, build_export
from privacy_orchestrator.domain.records import RecordContent
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.errors import InvalidRange, RecordNotFound

MAX_PAGE: Final = 1000  # records in one API answer


async def append_completion_record(
    deps: Dependencies, content: RecordContent, *, conn: asyncpg.Connection | None = None
) -> SealedRecord:
    """Seal `content` as the next record of the chain and store it; the stored record.

    Raises `InvalidRecord` (or `PersonalDataInRecord`) before anything is stored if the
    content breaks a rule.
    """
    if conn is not None:
        (record,) = await append_completion_records(deps, [content], conn=conn)
        return record
    async with transaction(deps.pool) as own:
        (record,) = await append_completion_records(deps, [content], conn=own)
        return record


async def append_completion_records(
    deps: Dependencies, contents: Sequence[RecordContent], *, conn: asyncpg.Connection
) -> list[SealedRecord]:
    """``append_completion_record`` for several requests in the caller's unit of work, under
    one lock of the chain's head (a chunk of replies completing many requests at once)."""
    for content in contents:
        content.document()  # validate before taking the chain's lock

    def sealer(content: RecordContent) -> Callable[[ChainHead], SealedRecord]:
        return lambda head: seal(
            content, sequence=head.sequence + 1, prev_hash=head.hash, signer=deps.signer
        )

    return await deps.records.append_many(
        conn,
        [(content.request_id, sealer(content)) for content in contents],
        created_at=deps.clock(),
    )


async def get_record(deps: Dependencies, sequence: int) -> SealedRecord:
    async with deps.pool.acquire() as conn:
        record = await deps.records.get(conn, sequence)
    if record is None:
        raise RecordNotFound(sequence)
    return record


async def list_records(deps: Dependencies, first: int, last: int | None) -> list[SealedRecord]:
    """Records `first`..`last` (at most `MAX_PAGE`; `last` defaults to that many)."""
    end = first + MAX_PAGE - 1 if last is None else last
    if first < 1 or end < first or end - first >= MAX_PAGE:
        raise InvalidRange(first, end)
    async with deps.pool.acquire() as conn:
        return await deps.records.between(conn, first, end)


async def export_records(deps: Dependencies, first: int = 1, last: int | None = None) -> bytes:
    """The export file (`domain.export`) of records `first`..`last` (default: to the head).

    Exports what the database holds, gaps and all: finding them is the verifier's job.
    """
    async with transaction(deps.pool) as conn:
        # One snapshot: the head and the records as of the same moment.
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        head = await deps.records.head(conn)
        end = head.sequence if last is None else last
        if first < 1 or end < first - 1:
            raise InvalidRange(first, end)
        records = await deps.records.between(conn, first, end)
    return build_export(
        records,
        first_sequence=first,
        last_sequence=end,
        head=head,
        signer=deps.signer,
        exported_at=deps.clock(),
    )


async def checkpoint(deps: Dependencies) -> bytes:
    """A signed checkpoint (``domain.anchors``) of the chain's head now: kept outside the
    database, it lets a later export show that no record was removed from the chain's end."""
    async with deps.pool.acquire() as conn:
        head = await deps.records.head(conn)
    return build_checkpoint(head, signer=deps.signer, taken_at=deps.clock())
