"""Key ring on real PostgreSQL (and Kafka): encryption per subject, crypto-shredding."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import EventMetadata, from_kafka_record
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.keyring import (
    ERASED,
    KeyRing,
    MasterKeyMismatch,
    SubjectErased,
    TokenSubjectMismatch,
    TokenTampered,
    UnknownDataKey,
    is_token,
)
from byggrygg_shared.keyring_schema import METADATA, migrate_keyring
from byggrygg_shared.outbox import OutboxRelay, make_idempotent_producer

from ..conftest import on_topic

ReadTopic = Callable[[str, int], Awaitable[list[ConsumerRecord[Any, Any]]]]
MASTER = bytes(range(32))
KARI = "subj_" + "1" * 32
OLA = "subj_" + "2" * 32


@pytest.fixture
def ring(keyring_pool: asyncpg.Pool) -> KeyRing:
    return KeyRing(keyring_pool, MASTER)


async def test_round_trip_with_one_key_per_subject(ring: KeyRing) -> None:
    token = await ring.encrypt(KARI, "Kari Nordmann")
    again = await ring.encrypt(KARI, "Kari Nordmann")
    other = await ring.encrypt(OLA, "Ola Nordmann")

    assert is_token(token)
    assert "Kari" not in token
    assert token != again  # a fresh nonce each time
    assert token.split(":")[2] == again.split(":")[2]  # same subject, same data key
    assert token.split(":")[2] != other.split(":")[2]
    assert await ring.decrypt(KARI, token) == "Kari Nordmann"
    assert await ring.decrypt(KARI, again) == "Kari Nordmann"
    assert await ring.decrypt(OLA, other) == "Ola Nordmann"
    assert await ring.decrypt(KARI, await ring.encrypt(KARI, "")) == ""
    assert await ring.decrypt(KARI, await ring.encrypt(KARI, "Åse Ødegård 🙂")) == "Åse Ødegård 🙂"


async def test_another_subjects_token_does_not_decrypt(ring: KeyRing) -> None:
    token = await ring.encrypt(KARI, "Kari")
    await ring.encrypt(OLA, "Ola")
    with pytest.raises(TokenSubjectMismatch):
        await ring.decrypt(OLA, token)


async def test_a_tampered_token_is_named_as_such(ring: KeyRing) -> None:
    token = await ring.encrypt(KARI, "Kari")
    prefix, blob = token.rsplit(":", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    with pytest.raises(TokenTampered):
        await ring.decrypt(KARI, f"{prefix}:{base64.b64encode(bytes(raw)).decode()}")


async def test_a_token_from_another_key_ring_is_unknown(ring: KeyRing) -> None:
    token = await ring.encrypt(KARI, "Kari")
    foreign = token.replace(token.split(":")[2], "f" * 32)
    with pytest.raises(UnknownDataKey):
        await ring.decrypt(KARI, foreign)


async def test_the_wrong_master_key_is_a_named_error(
    ring: KeyRing, keyring_pool: asyncpg.Pool
) -> None:
    token = await ring.encrypt(KARI, "Kari")
    impostor = KeyRing(keyring_pool, bytes(32))
    with pytest.raises(MasterKeyMismatch):
        await impostor.decrypt(KARI, token)
    with pytest.raises(MasterKeyMismatch):
        await impostor.encrypt(KARI, "more")


async def test_a_wrapped_key_moved_to_another_subject_does_not_unwrap(
    ring: KeyRing, keyring_pool: asyncpg.Pool
) -> None:
    await ring.encrypt(KARI, "Kari")
    ola_token = await ring.encrypt(OLA, "Ola")
    await keyring_pool.execute(
        "UPDATE keyring_data_keys SET wrapped_key = "
        "(SELECT wrapped_key FROM keyring_data_keys WHERE subject_ref = $1) "
        "WHERE subject_ref = $2",
        KARI,
        OLA,
    )
    with pytest.raises(TokenTampered):
        await ring.decrypt(OLA, ola_token)


async def test_shred_makes_old_tokens_read_as_erased_and_refuses_new_ones(
    ring: KeyRing, keyring_pool: asyncpg.Pool
) -> None:
    token = await ring.encrypt(KARI, "Kari")
    ola_token = await ring.encrypt(OLA, "Ola")

    assert not await ring.is_shredded(KARI)
    assert await ring.shred(KARI) is True
    assert await ring.shred(KARI) is False  # already erased

    assert await ring.is_shredded(KARI)
    assert await ring.decrypt(KARI, token) is ERASED
    with pytest.raises(SubjectErased):
        await ring.encrypt(KARI, "Kari again")
    with pytest.raises(TokenSubjectMismatch):  # erased or not, a token stays its subject's
        await ring.decrypt(OLA, token)
    assert await ring.decrypt(OLA, ola_token) == "Ola"  # others are untouched

    # The key material is gone; only the tombstone remains.
    assert (
        await keyring_pool.fetchval(
            "SELECT count(*) FROM keyring_data_keys WHERE subject_ref = $1", KARI
        )
        == 0
    )
    tombstone = await keyring_pool.fetchrow(
        "SELECT * FROM keyring_subjects WHERE subject_ref = $1", KARI
    )
    assert tombstone is not None
    assert tombstone["shredded_at"] is not None
    assert set(tombstone.keys()) == {"subject_ref", "key_id", "created_at", "shredded_at"}


async def test_shredding_an_unknown_subject_leaves_a_tombstone(ring: KeyRing) -> None:
    assert await ring.shred(OLA) is True
    assert await ring.is_shredded(OLA)
    with pytest.raises(SubjectErased):
        await ring.encrypt(OLA, "Ola")


async def test_shredding_many_erases_each_once_and_leaves_the_others(ring: KeyRing) -> None:
    kari = await ring.encrypt(KARI, "Kari")
    ola = await ring.encrypt(OLA, "Ola")
    other = "subj-someone-else"
    kept = await ring.encrypt(other, "kept")
    assert await ring.shred(OLA) is True  # erased before the batch

    erased_now = await ring.shred_many([KARI, OLA, "subj-never-seen", KARI])

    assert erased_now == {KARI, "subj-never-seen"}  # each once; OLA was erased before
    assert await ring.decrypt(KARI, kari) is ERASED
    assert await ring.decrypt(OLA, ola) is ERASED
    assert await ring.is_shredded("subj-never-seen")  # a tombstone, as shred leaves
    with pytest.raises(SubjectErased):
        await ring.encrypt("subj-never-seen", "x")
    assert await ring.decrypt(other, kept) == "kept"
    assert await ring.shred_many([KARI]) == set()
    assert await ring.shred_many([]) == set()


async def test_concurrent_first_use_creates_one_key(
    ring: KeyRing, keyring_pool: asyncpg.Pool
) -> None:
    tokens = await asyncio.gather(*(ring.encrypt(KARI, f"v{i}") for i in range(10)))
    assert len({t.split(":")[2] for t in tokens}) == 1
    assert [await ring.decrypt(KARI, t) for t in tokens] == [f"v{i}" for i in range(10)]
    assert await keyring_pool.fetchval("SELECT count(*) FROM keyring_data_keys") == 1


async def test_migration_is_idempotent_and_matches_the_declared_tables(fresh_database: str) -> None:
    assert await migrate_keyring(fresh_database) == 1
    assert await migrate_keyring(fresh_database) == 1
    conn = await asyncpg.connect(fresh_database)
    try:
        for table in METADATA.sorted_tables:
            rows = await conn.fetch(
                "SELECT column_name, is_nullable FROM information_schema.columns "
                "WHERE table_name = $1 ORDER BY ordinal_position",
                table.name,
            )
            assert [(r["column_name"], r["is_nullable"] == "YES") for r in rows] == [
                (c.name, bool(c.nullable)) for c in table.columns
            ]
    finally:
        await conn.close()


class ProfileNamed(IntegrationEvent):
    event_type: ClassVar[str] = "no.byggrygg.keyringtest.ProfileNamed"
    source_service: ClassVar[str] = "keyringtest"
    topic: ClassVar[str] = "keyringtest.profile.v1"
    personal_fields: ClassVar[frozenset[str]] = frozenset({"display_name"})

    subject_ref: str
    display_name: str


async def test_tokens_read_back_from_kafka_become_erased_after_shred(
    ring: KeyRing,
    events_pool: asyncpg.Pool,
    kafka_bootstrap: str,
    new_topic: Any,
    read_topic: ReadTopic,
) -> None:
    # Both pools sit on the test's one fresh database (disjoint tables): the key ring's own
    # database in production, the service's event store here.
    topic = await new_topic("keyring-kafka")
    contract = on_topic(ProfileNamed, topic)
    event = contract(subject_ref=KARI, display_name=await ring.encrypt(KARI, "Kari Nordmann"))
    async with transaction(events_pool) as conn:
        await EventStore().append(
            conn,
            stream_id="profile-1",
            expected_version=0,
            events=[event],
            metadata=EventMetadata.new(),
        )
    producer = make_idempotent_producer(kafka_bootstrap)
    await producer.start()
    try:
        relay = OutboxRelay(pool=events_pool, producer=producer, source_service="keyringtest")
        assert await relay.publish_pending() == 1
    finally:
        await producer.stop()

    (record,) = await read_topic(topic, 1)
    assert b"Kari" not in record.value  # only ciphertext is on Kafka
    received = from_kafka_record(record.headers, record.value, key=record.key)
    assert received.subject == KARI
    token = received.data["display_name"]
    assert await ring.decrypt(KARI, token) == "Kari Nordmann"

    await ring.shred(KARI)
    (record,) = await read_topic(topic, 1)  # the same bytes, still on the topic
    again = from_kafka_record(record.headers, record.value)
    assert await ring.decrypt(again.subject or "", again.data["display_name"]) is ERASED
