"""Issue 5's proof of erasure, end to end on the real processes of this session.

A learner has data in every service: a profile in identity, a licence, answers in courses (a
free text naming them), an e-mail correspondence in consent, a record at HeiHallo (the
sub-processor simulator). The organisation's administrator revokes the licence (R6):

- the orchestrator files an erasure by itself (trigger `licence_revoked`), every participant
  replies and HeiHallo confirms by its signed callback (R13); only then the request completes;
- the person's name, e-mail address and phone number are in no database of any service (nor
  the key ring's), in no record of any of the session's topics and in no service log
  (`tests/pii_scan.py`); before the erasure the same scan finds them, so it can fail;
- Kafka still holds the person's events (immutable), their personal fields as key-ring tokens
  whose key is destroyed: they decrypt to ERASED;
- the anonymised answer (the scale value) stays for the operator's statistics (R16);
- the completion record (R19) names every participant and HeiHallo, holds no personal data,
  and the chain verifies offline with `privacy-orchestrator verify-records`;
- a direct UPDATE of a stored record (past the append-only trigger, as a superuser could) makes
  the verification fail.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from byggrygg_shared.contracts.identity import USER_TOPIC, UserCreated
from byggrygg_shared.keyring import ERASED, KeyRing, is_token, load_master_key

from ..platform_processes import Platform
from ..topic_tail import TopicTail, headers_of
from .privacy_story import PARTICIPANTS, Person, PrivacyStory

USER_CREATED = UserCreated.ce_type()
# What a forger would do: turn the stored outcome into another one.
TAMPER = """UPDATE completion_records SET record = replace(record, '"completed"', '"rejected"')
WHERE request_id = $1"""


@pytest_asyncio.fixture(loop_scope="session")
async def keyring(platform: Platform) -> AsyncIterator[KeyRing]:
    pool = await asyncpg.create_pool(platform.keyring_database_url, min_size=1, max_size=2)
    try:
        yield KeyRing(pool, load_master_key(platform.master_key_file))
    finally:
        await pool.close()


async def _user_created_token(platform: Platform, person: Person) -> str:
    """The `name` field of the person's UserCreated as it sits on the session's user topic."""
    tail = await TopicTail.open(
        platform.env["BYGGRYGG_KAFKA_BOOTSTRAP"], platform.topic(USER_TOPIC), from_beginning=True
    )
    try:
        record = await tail.find(
            lambda r: (
                headers_of(r).get("ce_type") == USER_CREATED.encode()
                and headers_of(r).get("ce_subject") == person.subject_ref.encode()
            ),
            deadline_s=60.0,
        )
    finally:
        await tail.close()
    return str(json.loads(record.value or b"{}")["name"])


async def test_a_revoked_licence_erases_the_person_everywhere_and_the_record_proves_it(
    privacy_story: PrivacyStory, keyring: KeyRing, tmp_path: Path
) -> None:
    person = await privacy_story.learner_with_data()
    other = await privacy_story.learner_with_data()
    name_token = await _user_created_token(privacy_story.platform, person)
    assert is_token(name_token)
    assert await keyring.decrypt(person.subject_ref, name_token) == person.member.name
    before = await privacy_story.scan_everything(person)
    assert before.of("database"), "the scan must find the person before the erasure"

    revoked = await privacy_story.identity.http.delete(
        f"/users/{person.member.user_id}/licences/{person.licence_id}",
        headers=person.admin.headers,
    )
    assert revoked.status_code == 204, revoked.text

    request = await privacy_story.erasure_besides(person.subject_ref)
    assert request["requested_by_role"] == "automatic"
    assert request["trigger"] == "licence_revoked"
    view = await privacy_story.ended(str(request["request_id"]))
    assert view["state"] == "completed", view
    assert set(view["participants"]) >= PARTICIPANTS
    assert all(progress["replied"] for progress in view["participants"].values()), view
    assert view["sub_processors"], "HeiHallo received the person's data: it must be asked"
    assert {item["state"] for item in view["sub_processors"]} == {"confirmed"}, view

    # Nothing names the person any more: databases, topics, logs.
    after = await privacy_story.scan_everything(person)
    assert after.coverage.databases >= len(privacy_story.platform.services) + 1
    assert after.coverage.topics == len(privacy_story.platform.topics())
    assert after.coverage.records > 0
    assert after.hits == [], [hit for hit in after.hits]
    # Kafka keeps the event, its personal fields unreadable: the key is destroyed.
    assert await keyring.is_shredded(person.subject_ref)
    assert await keyring.decrypt(person.subject_ref, name_token) is ERASED
    # HeiHallo forgot the person; the other learner is untouched everywhere.
    assert await privacy_story.platform.simulator.held(person.subject_ref) is None
    assert await privacy_story.platform.simulator.held(other.subject_ref) is not None
    assert not await keyring.is_shredded(other.subject_ref)
    assert (await privacy_story.scan_everything(other)).of("database")
    # The anonymised answer stays for the operator's statistics (R16), unlinked; the free
    # text is gone with the person.
    answers = await privacy_story.courses.get(
        f"/courses/{person.course_id}/answers", headers=privacy_story.staff
    )
    assert answers.status_code == 200, answers.text
    kept = [a for a in answers.json() if a["organisation_id"] == person.organisation_id]
    assert [a["scale_value"] for a in kept if a["kind"] == "scale"] == [4]
    assert all(a["subject_ref"] != person.subject_ref for a in kept)
    assert all(not a["text"] or a["text_erased"] for a in kept if a["kind"] == "free_text")

    # The completion record: every participant and HeiHallo, no personal data, verifiable.
    export = json.loads(await privacy_story.exported_records())
    text = json.dumps(export)
    for identifier in (person.subject_ref, person.member.email, person.member.user_id):
        assert identifier not in text
    status, output = await privacy_story.verify_records(tmp_path)
    assert status == 0, output
    assert "verified" in output


async def test_an_update_of_a_stored_record_breaks_the_verification(
    privacy_story: PrivacyStory, tmp_path: Path
) -> None:
    person = await privacy_story.learner_with_data()
    request = await privacy_story.file("erasure", person.subject_ref)
    view = await privacy_story.ended(str(request["request_id"]))
    assert view["state"] == "completed", view
    status, output = await privacy_story.verify_records(tmp_path)
    assert status == 0, output

    orchestrator_db = privacy_story.platform["privacy-orchestrator"].database_url
    conn = await asyncpg.connect(orchestrator_db)
    original = await conn.fetchval(
        "SELECT record FROM completion_records WHERE request_id = $1", request["request_id"]
    )
    try:
        # The append-only trigger refuses an ordinary UPDATE...
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                TAMPER,
                request["request_id"],
            )
        # ...a superuser can switch triggers off: then the hashes and signatures catch it.
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            changed = await conn.execute(
                TAMPER,
                request["request_id"],
            )
        assert changed == "UPDATE 1"
        status, output = await privacy_story.verify_records(tmp_path)
        assert status == 1, output
        assert "FAILED" in output
    finally:
        # The session's chain is shared: the record as it was, for the tests that follow.
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute(
                "UPDATE completion_records SET record = $2 WHERE request_id = $1",
                request["request_id"],
                original,
            )
        await conn.close()
    status, output = await privacy_story.verify_records(tmp_path)
    assert status == 0, output
