"""The story of issue 3, end to end through the real identity process and the real Kafka topic.

Platform staff log in and register an organisation, list its administrator; the administrator
logs in and invites a learner, who accepts the terms (R3) and becomes a user. `UserCreated`
reaches `identity.user.v1` as a binary-mode CloudEvent whose personal fields are key-ring
tokens, with no name or e-mail in plain text anywhere in the record (DESIGN §4). Destroying the
learner's data key (crypto-shredding) makes that very record unreadable: it decrypts to the
ERASED marker, and nothing new can be encrypted for the learner.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import ConsumerRecord

from byggrygg_shared.contracts.identity import USER_TOPIC, UserCreated
from byggrygg_shared.envelope import from_kafka_record
from byggrygg_shared.keyring import ERASED, KeyRing, SubjectErased, is_token, load_master_key

from ..identity_client import IdentityApi, Member, assert_problem
from ..identity_process import IdentityProcess
from ..topic_tail import RecordTest, TopicTail, everything_in, headers_of

USER_CREATED = "no.byggrygg.identity.UserCreated.v1"
RECORD_DEADLINE_S = 60.0


@pytest_asyncio.fixture(loop_scope="session")
async def user_topic(
    kafka_bootstrap: str, identity_service: IdentityProcess
) -> AsyncIterator[TopicTail]:
    """The session's identity.user.v1 from its current end: opened before the story makes its
    events."""
    tail = await TopicTail.open(kafka_bootstrap, identity_service.topic(USER_TOPIC))
    try:
        yield tail
    finally:
        await tail.close()


def is_user_created_for(member: Member) -> RecordTest:
    def matches(record: ConsumerRecord[bytes, bytes]) -> bool:
        headers = headers_of(record)
        return (
            headers.get("ce_type") == USER_CREATED.encode()
            and headers.get("ce_subject") == member.subject_ref.encode()
        )

    return matches


async def events_mentioning(dsn: str, text: str) -> int:
    """Rows of the events table whose text (payload, metadata, everything) contains `text`."""
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM events e WHERE strpos(lower(e::text), lower($1)) > 0", text
            )
        )
    finally:
        await conn.close()


@pytest_asyncio.fixture(loop_scope="session")
async def keyring(identity_service: IdentityProcess) -> AsyncIterator[KeyRing]:
    """The key ring identity uses: the same database and the same master key."""
    pool = await asyncpg.create_pool(identity_service.keyring_database_url, min_size=1, max_size=2)
    try:
        yield KeyRing(pool, load_master_key(identity_service.master_key_file))
    finally:
        await pool.close()


async def test_a_new_user_reaches_kafka_encrypted_and_shredding_erases_it(
    identity: IdentityApi,
    identity_service: IdentityProcess,
    user_topic: TopicTail,
    keyring: KeyRing,
) -> None:
    # Staff register an organisation and list its administrator, who accepts and logs in.
    organisation = await identity.register_organisation()
    org_id = organisation["organisation_id"]
    assert organisation["status"] == "active"
    admin = await identity.add_admin(org_id)
    assert admin.profile["roles"] == ["org_admin"]
    assert admin.organisation_id == org_id

    # The administrator invites a learner, who accepts the terms and becomes a user.
    learner = await identity.add_learner(org_id, admin)
    assert learner.profile["roles"] == ["learner"]
    assert learner.profile["name"] == learner.name
    assert learner.profile["email"] == learner.email
    assert learner.subject_ref.startswith("subj_")
    me = await identity.http.get("/me", headers=learner.headers)
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == learner.email

    # UserCreated reaches the real topic as a binary-mode CloudEvent about the learner.
    record = await user_topic.find(is_user_created_for(learner), deadline_s=RECORD_DEADLINE_S)
    headers = headers_of(record)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_source"] == b"/services/identity"
    assert headers["ce_tenantid"] == org_id.encode()
    assert headers["content-type"] == b"application/json"
    event = from_kafka_record(record.headers, record.value or b"")
    assert event.type == USER_CREATED
    contract = event.contract()
    assert isinstance(contract, UserCreated)
    assert str(contract.user_id) == learner.user_id

    # No personal data in plain text anywhere in the record: key, value, headers.
    raw = everything_in(record)
    for plain in (learner.name, learner.email, learner.phone):
        assert plain.encode() not in raw, f"plaintext personal data on {USER_TOPIC}"
        assert plain.lower().encode() not in raw.lower()
    payload: dict[str, Any] = json.loads(record.value or b"{}")
    for name in UserCreated.personal_fields:
        assert is_token(payload[name]), f"{name} is not a key-ring token"

    # The same key ring turns the tokens back into the learner's profile ...
    opened = {
        name: await keyring.decrypt(learner.subject_ref, payload[name])
        for name in UserCreated.personal_fields
    }
    assert opened == {
        "name": learner.name,
        "email": learner.email,
        "phone": learner.phone,
        "gender": "female",
        "language": "nb",
    }

    # ... and identity's own event store holds no plaintext of them either.
    for plain in (learner.name, learner.email, learner.phone):
        assert await events_mentioning(identity_service.database_url, plain) == 0

    # Crypto-shredding: destroy the learner's data key.
    assert await keyring.shred(learner.subject_ref) is True
    assert await keyring.is_shredded(learner.subject_ref)
    for name in UserCreated.personal_fields:
        assert await keyring.decrypt(learner.subject_ref, payload[name]) is ERASED
    with pytest.raises(SubjectErased):
        await keyring.encrypt(learner.subject_ref, learner.name)

    # The service reads the erased user as missing, not as a crash.
    response = await identity.http.post(f"/users/{learner.user_id}/licences", headers=admin.headers)
    assert_problem(response, 404)
    # The service logged none of the learner's personal data (DESIGN §6).
    log = identity_service.log_file.read_text(encoding="utf-8", errors="replace").lower()
    for plain in (learner.name, learner.email, learner.phone):
        assert plain.lower() not in log, "personal data in identity's log"
    # The administrator is a different subject: their data is untouched.
    admin_me = await identity.http.get("/me", headers=admin.headers)
    assert admin_me.status_code == 200, admin_me.text
    assert admin_me.json()["user"]["name"] == admin.name
