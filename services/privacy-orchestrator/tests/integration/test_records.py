"""Completion records in the real database (R19): appended in one chain that never forks,
exported, verified offline, and any change made behind the service's back fails verification.

Tampering goes around the append-only trigger the way a database superuser could
(``session_replication_role = replica`` skips triggers): the hashes and signatures must catch
what the trigger cannot stop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from uuid import uuid4

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from byggrygg_shared.db import create_pool, transaction
from privacy_orchestrator.bootstrap import Runtime
from privacy_orchestrator.domain.canonical import GENESIS_HASH, canonical_json
from privacy_orchestrator.domain.errors import PersonalDataInRecord, RecordVerificationFailed
from privacy_orchestrator.domain.export import verify_export
from privacy_orchestrator.domain.records import RecordContent
from privacy_orchestrator.domain.signing import RecordSigner
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.records import (
    append_completion_record,
    append_completion_records,
    export_records,
)

MakeContent = Callable[..., RecordContent]


@pytest.fixture
async def tamper(orchestrator_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection that skips the append-only trigger."""
    conn = await asyncpg.connect(orchestrator_dsn)
    await conn.execute("SET session_replication_role = replica")
    try:
        yield conn
    finally:
        await conn.close()


async def append(runtime: Runtime, make_content: MakeContent, count: int) -> None:
    for _ in range(count):
        await append_completion_record(runtime.deps, make_content())


def verify(data: bytes, runtime: Runtime) -> str:
    with pytest.raises(RecordVerificationFailed) as failed:
        verify_export(data, runtime.deps.signer.public_key)
    return str(failed.value)


async def test_three_records_export_and_verify(runtime: Runtime, make_content: MakeContent) -> None:
    contents = [make_content() for _ in range(3)]
    stored = [await append_completion_record(runtime.deps, c) for c in contents]
    assert [r.sequence for r in stored] == [1, 2, 3]
    assert stored[0].prev_hash == GENESIS_HASH
    assert stored[2].prev_hash == stored[1].hash
    data = await export_records(runtime.deps)
    verified = verify_export(data, runtime.deps.signer.public_key)
    assert (verified.count, verified.first_sequence, verified.last_sequence) == (3, 1, 3)
    exported = json.loads(data)["records"]
    assert [e["record"]["request"]["request_id"] for e in exported] == [
        str(c.request_id) for c in contents
    ]


async def test_the_store_keeps_the_exact_bytes_that_were_hashed(
    runtime: Runtime, make_content: MakeContent
) -> None:
    record = await append_completion_record(runtime.deps, make_content())
    stored = await runtime.pool.fetchval("SELECT record FROM completion_records")
    assert stored.encode() == canonical_json(record.document)


async def test_an_updated_record_fails_verification_naming_it(
    runtime: Runtime, make_content: MakeContent, tamper: asyncpg.Connection
) -> None:
    await append(runtime, make_content, 3)
    await tamper.execute(
        "UPDATE completion_records SET record = replace(record, '\"count\":1', '\"count\":0')"
        " WHERE sequence = 2"
    )
    assert verify(await export_records(runtime.deps), runtime).startswith(
        "record 2: hash does not match"
    )


async def test_an_updated_record_with_its_hash_recomputed_fails_on_its_signature(
    runtime: Runtime, make_content: MakeContent, tamper: asyncpg.Connection
) -> None:
    await append(runtime, make_content, 3)
    await tamper.execute(
        "UPDATE completion_records SET record = replace(record, '\"count\":1', '\"count\":0')"
        " WHERE sequence = 3"
    )
    await tamper.execute(
        "UPDATE completion_records SET hash = encode(sha256(convert_to(record, 'UTF8')), 'hex')"
        " WHERE sequence = 3"
    )
    assert verify(await export_records(runtime.deps), runtime).startswith(
        "record 3: signature is not valid"
    )


async def test_a_deleted_middle_record_fails_verification(
    runtime: Runtime, make_content: MakeContent, tamper: asyncpg.Connection
) -> None:
    await append(runtime, make_content, 3)
    await tamper.execute("DELETE FROM completion_records WHERE sequence = 2")
    message = verify(await export_records(runtime.deps), runtime)
    assert message == "record 3: expected record 2 here: record 2 is missing (deleted?)"


async def test_a_deleted_last_record_fails_verification(
    runtime: Runtime, make_content: MakeContent, tamper: asyncpg.Connection
) -> None:
    await append(runtime, make_content, 3)
    await tamper.execute("DELETE FROM completion_records WHERE sequence = 3")
    assert "ends at record 2" in verify(await export_records(runtime.deps), runtime)


async def test_renumbered_records_fail_verification(
    runtime: Runtime, make_content: MakeContent, tamper: asyncpg.Connection
) -> None:
    await append(runtime, make_content, 3)
    # Swap records 2 and 3 by their numbers.
    await tamper.execute(
        "UPDATE completion_records SET sequence = sequence + 100 WHERE sequence > 1"
    )
    await tamper.execute(
        "UPDATE completion_records SET sequence = 105 - sequence WHERE sequence > 100"
    )
    assert verify(await export_records(runtime.deps), runtime).startswith("record 2:")


async def test_a_record_re_signed_with_another_key_fails(
    runtime: Runtime, make_content: MakeContent, tamper: asyncpg.Connection
) -> None:
    await append(runtime, make_content, 2)
    forger = RecordSigner(Ed25519PrivateKey.generate())
    stored_hash = await tamper.fetchval("SELECT hash FROM completion_records WHERE sequence = 1")
    await tamper.execute(
        "UPDATE completion_records SET signature = $1 WHERE sequence = 1", forger.sign(stored_hash)
    )
    assert verify(await export_records(runtime.deps), runtime).startswith(
        "record 1: signature is not valid"
    )


async def test_a_tampered_prev_hash_fails(
    runtime: Runtime, make_content: MakeContent, tamper: asyncpg.Connection
) -> None:
    await append(runtime, make_content, 3)
    await tamper.execute(
        "UPDATE completion_records SET prev_hash = $1 WHERE sequence = 3", "a" * 64
    )
    assert verify(await export_records(runtime.deps), runtime).startswith("record 3:")


async def test_appending_again_for_a_request_returns_its_record(
    runtime: Runtime, make_content: MakeContent
) -> None:
    content = make_content()
    first = await append_completion_record(runtime.deps, content)
    again = await append_completion_record(runtime.deps, content)
    assert again == first
    assert await runtime.pool.fetchval("SELECT count(*) FROM completion_records") == 1


async def test_a_record_with_personal_data_is_refused_and_nothing_stored(
    runtime: Runtime, make_content: MakeContent
) -> None:
    with pytest.raises(PersonalDataInRecord):
        await append_completion_record(
            runtime.deps, make_content(reason="subj_0123456789abcdef0123456789abcdef")
        )
    assert await runtime.pool.fetchval("SELECT count(*) FROM completion_records") == 0
    assert await runtime.pool.fetchval("SELECT sequence FROM record_chain_head") == 0


async def test_the_record_commits_with_the_callers_unit_of_work(
    runtime: Runtime, make_content: MakeContent
) -> None:
    class Abort(Exception):
        pass

    async def append_then_fail() -> None:
        async with transaction(runtime.pool) as conn:
            await append_completion_record(runtime.deps, make_content(), conn=conn)
            raise Abort

    with pytest.raises(Abort):
        await append_then_fail()
    assert await runtime.pool.fetchval("SELECT count(*) FROM completion_records") == 0
    record = await append_completion_record(runtime.deps, make_content())
    assert record.sequence == 1


async def test_records_appended_together_chain_on_each_other_and_verify(
    runtime: Runtime, make_content: MakeContent
) -> None:
    before = await append_completion_record(runtime.deps, make_content())
    contents = [make_content() for _ in range(4)]
    async with transaction(runtime.pool) as conn:
        together = await append_completion_records(
            runtime.deps, [*contents, contents[1]], conn=conn
        )
        # A request that has its record gets it back, not a second one.
        again = await append_completion_records(runtime.deps, [contents[0]], conn=conn)
    assert [r.sequence for r in together] == [2, 3, 4, 5, 3]
    assert [r.prev_hash for r in together[:4]] == [before.hash, *(r.hash for r in together[:3])]
    assert again == [together[0]]
    assert await runtime.pool.fetchval("SELECT sequence FROM record_chain_head") == 5
    data = await export_records(runtime.deps)
    assert verify_export(data, runtime.deps.signer.public_key).count == 5


async def test_concurrent_appends_never_fork_the_chain(
    runtime: Runtime, make_content: MakeContent, orchestrator_dsn: str
) -> None:
    # Several pools, as several orchestrator processes would have, appending at once.
    pools = [await create_pool(orchestrator_dsn, min_size=4, max_size=4) for _ in range(3)]
    try:
        deps = [Dependencies(pool=p, signer=runtime.deps.signer) for p in pools]
        contents = [make_content() for _ in range(36)]
        stored = await asyncio.gather(
            *(append_completion_record(deps[i % 3], c) for i, c in enumerate(contents))
        )
    finally:
        for pool in pools:
            await pool.close()
    assert sorted(r.sequence for r in stored) == list(range(1, 37))
    prev_hashes = [r.prev_hash for r in stored]
    assert len(set(prev_hashes)) == 36  # no two records follow the same record
    data = await export_records(runtime.deps)
    assert verify_export(data, runtime.deps.signer.public_key).count == 36


async def test_a_partial_export_verifies(runtime: Runtime, make_content: MakeContent) -> None:
    await append(runtime, make_content, 5)
    data = await export_records(runtime.deps, 2, 4)
    assert verify_export(data, runtime.deps.signer.public_key).count == 3
    assert [e["sequence"] for e in json.loads(data)["records"]] == [2, 3, 4]


async def test_records_of_another_request_id_get_their_own_record(
    runtime: Runtime, make_content: MakeContent
) -> None:
    await append_completion_record(runtime.deps, make_content(request_id=uuid4()))
    second = await append_completion_record(runtime.deps, make_content(request_id=uuid4()))
    assert second.sequence == 2
