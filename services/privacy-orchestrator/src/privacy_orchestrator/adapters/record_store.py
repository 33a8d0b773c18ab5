"""The append-only store of completion records (R19) in the orchestrator's database.

`append_many` runs inside the caller's unit of work. It locks the chain head row
(``SELECT ... FOR UPDATE``) before it seals: a second append waits there until the first
commits, then reads the head the first one wrote (READ COMMITTED re-reads a locked row's
newest version), so two appends can never take the same sequence number or the same previous
hash: the chain cannot fork. One request gets one record: appending again for a request that
has one returns it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from privacy_orchestrator.domain.chain import SealedRecord
from privacy_orchestrator.domain.export import ChainHead

_COLUMNS = "sequence, prev_hash, hash, signature, record"


def _sealed(row: asyncpg.Record) -> SealedRecord:
    return SealedRecord.from_stored(
        sequence=row["sequence"],
        prev_hash=row["prev_hash"],
        hash_=row["hash"],
        signature=row["signature"],
        record=row["record"],
    )


class RecordStore:
    """Reads and appends completion records."""

    async def append_many(
        self,
        conn: asyncpg.Connection,
        items: Sequence[tuple[UUID, Callable[[ChainHead], SealedRecord]]],
        *,
        created_at: datetime,
    ) -> list[SealedRecord]:
        """Seal the next records after the head (each ``(request_id, seal)``, in chain order)
        and store them; the records, a request's existing one where it has one already (one
        request gets one record).

        Completions queue on the head's row lock, held until the caller commits, so the work
        done under it is two statements however many records: the lock, then the records and
        the new head written together. The look-up of the records the requests already have
        comes before the head's lock: the request workflow holds the requests' own row locks,
        and two appends for one request that hold none still cannot both store one
        (``request_id`` is unique: the second fails and rolls back)."""
        if not items:
            return []
        found = {
            row["request_id"]: _sealed(row)
            for row in await conn.fetch(
                f"SELECT request_id, {_COLUMNS} FROM completion_records"  # noqa: S608
                " WHERE request_id = ANY($1::uuid[])",
                [request_id for request_id, _ in items],
            )
        }
        head_row = await conn.fetchrow(
            "SELECT sequence, hash FROM record_chain_head WHERE id = 1 FOR UPDATE"
        )
        if head_row is None:
            raise RuntimeError("record_chain_head has no row: run the migrations")
        head = ChainHead(head_row["sequence"], head_row["hash"])
        records: list[SealedRecord] = []
        new: list[tuple[UUID, SealedRecord]] = []
        for request_id, seal in items:
            if request_id in found:
                records.append(found[request_id])
                continue
            record = seal(head)
            head = ChainHead(record.sequence, record.hash)
            found[request_id] = record  # the same request twice: one record
            records.append(record)
            new.append((request_id, record))
        if new:
            await conn.execute(
                "WITH stored AS (INSERT INTO completion_records"
                " (sequence, request_id, record, hash, prev_hash, signature, created_at)"
                " SELECT s, r, d, h, p, g, $7 FROM unnest($1::bigint[], $2::uuid[], $3::text[],"
                " $4::text[], $5::text[], $6::text[]) AS n(s, r, d, h, p, g))"
                " UPDATE record_chain_head SET sequence = $8, hash = $9 WHERE id = 1",
                [record.sequence for _, record in new],
                [request_id for request_id, _ in new],
                [record.canonical for _, record in new],
                [record.hash for _, record in new],
                [record.prev_hash for _, record in new],
                [record.signature for _, record in new],
                created_at,
                head.sequence,
                head.hash,
            )
        return records

    async def last_checkpointed(self, conn: asyncpg.Connection, stream_id: str) -> int:
        """The record number of the newest checkpoint published on ``stream_id`` (0: none)."""
        sequence = await conn.fetchval(
            "SELECT (payload #>> '{checkpoint,chain_head,sequence}')::bigint FROM events"
            " WHERE stream_id = $1 ORDER BY version DESC LIMIT 1",
            stream_id,
        )
        return 0 if sequence is None else int(sequence)

    async def head(self, conn: asyncpg.Connection) -> ChainHead:
        row = await conn.fetchrow("SELECT sequence, hash FROM record_chain_head WHERE id = 1")
        if row is None:
            raise RuntimeError("record_chain_head has no row: run the migrations")
        return ChainHead(row["sequence"], row["hash"])

    async def get(self, conn: asyncpg.Connection, sequence: int) -> SealedRecord | None:
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM completion_records WHERE sequence = $1",  # noqa: S608
            sequence,
        )
        return None if row is None else _sealed(row)

    async def for_request(self, conn: asyncpg.Connection, request_id: UUID) -> SealedRecord | None:
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM completion_records WHERE request_id = $1",  # noqa: S608
            request_id,
        )
        return None if row is None else _sealed(row)

    async def between(self, conn: asyncpg.Connection, first: int, last: int) -> list[SealedRecord]:
        """The stored records with `first` <= sequence <= `last`, in order (gaps stay gaps)."""
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM completion_records"  # noqa: S608
            " WHERE sequence BETWEEN $1 AND $2 ORDER BY sequence",
            first,
            last,
        )
        return [_sealed(row) for row in rows]
