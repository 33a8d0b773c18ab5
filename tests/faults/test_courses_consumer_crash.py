"""courses killed (SIGKILL) part-way through consuming identity's `LicenceGranted` events:
after the restart every learner is enrolled exactly once per assigned course.

The crash is made deterministic rather than hoped for:

1. A first wave of licences is consumed and applied (enrolments committed).
2. The test locks courses' `learners` table and grants a second wave: courses' consumer takes
   the first event of that wave, claims it in the inbox and blocks inside its transaction
   (seen in `pg_locks`). Then courses is SIGKILLed: the transaction in hand dies uncommitted,
   the rest of the wave was fetched or not, nothing of it was committed.
3. The consumer group's offsets are set back to before the first wave: the worst a consumer
   killed between its database commit and its offset commit can see (at-least-once). Every
   applied event is delivered again; the inbox and the one-open-enrolment rule must absorb it.

courses restarts on the same database and consumer group. Then: 2 enrolments per learner
through the API and in the table, one `EnrolmentStarted` per (learner, course) in the event
store, and on courses.enrolment.v1 every (learner, course) has exactly one EnrolmentStarted
event id (a copy re-sent by the outbox relay would carry the same id).
"""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from byggrygg_shared.contracts.courses import ENROLMENT_TOPIC, EnrolmentStarted
from byggrygg_shared.contracts.identity import USER_TOPIC

from ..identity_client import IdentityApi
from ..platform_processes import Platform, kill_service, restarted_service
from .crash_tools import (
    Offsets,
    committed_offsets,
    connected,
    end_offsets,
    eventually,
    header,
    payload,
    records_since,
    rewind_group,
    scalar,
)
from .learning import add_learners, grant_licences, publish_and_assign

pytestmark = pytest.mark.slow

LEARNERS = 20
FIRST_WAVE = 10
COURSES = 2
STARTED = EnrolmentStarted.event_type


async def _enrolments(dsn: str, organisation_id: str) -> int:
    return int(
        await scalar(
            dsn, "SELECT count(*) FROM enrolments WHERE organisation_id = $1::uuid", organisation_id
        )
    )


async def _equals(dsn: str, organisation_id: str, expected: int) -> int | None:
    count = await _enrolments(dsn, organisation_id)
    return count if count == expected else None


async def _blocked_on_learners(dsn: str) -> int | None:
    """How many sessions wait for a lock on `learners`; None while none does."""
    waiting = await scalar(
        dsn, "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'learners'::regclass"
    )
    return int(waiting) or None


async def _none_if_behind(bootstrap: str, group: str, wanted: Offsets) -> bool | None:
    """True once `group` has committed at least `wanted` on each of its partitions."""
    committed = await committed_offsets(bootstrap, group)
    behind = [p for p, offset in wanted.items() if committed.get(p, -1) < offset]
    return None if behind else True


async def _outbox_empty(dsn: str) -> bool | None:
    unpublished = await scalar(dsn, "SELECT count(*) FROM events WHERE published_at IS NULL")
    return True if unpublished == 0 else None


async def test_a_consumer_killed_mid_batch_enrols_every_learner_exactly_once(
    courses_platform: Platform, courses_identity: IdentityApi, kafka_bootstrap: str
) -> None:
    platform, identity = courses_platform, courses_identity
    dsn = platform["courses"].database_url
    group = platform.env["BYGGRYGG_COURSES_CONSUMER_GROUP"]
    async with httpx.AsyncClient(base_url=platform.url("courses"), timeout=30.0) as courses:
        org_id = str((await identity.register_organisation())["organisation_id"])
        admin = await identity.add_admin(org_id)
        course_ids = {
            (await publish_and_assign(courses, identity.staff, org_id)).course_id
            for _ in range(COURSES)
        }
        learners = await add_learners(identity, org_id, admin, LEARNERS)
        before_licences = await end_offsets(kafka_bootstrap, platform.topic(USER_TOPIC))
        before_enrolments = await end_offsets(kafka_bootstrap, platform.topic(ENROLMENT_TOPIC))

        # 1. The first wave is consumed and applied.
        await grant_licences(identity, admin, learners[:FIRST_WAVE])
        await eventually(
            lambda: _equals(dsn, org_id, FIRST_WAVE * COURSES),
            what="courses enrols the first wave",
        )

        # 2. The second wave's first event is in a transaction that cannot finish: kill.
        async with connected(dsn) as blocker:
            lock = blocker.transaction()
            await lock.start()
            await blocker.execute("LOCK TABLE learners IN EXCLUSIVE MODE")
            await grant_licences(identity, admin, learners[FIRST_WAVE:])
            await eventually(
                lambda: _blocked_on_learners(dsn), what="courses' consumer waits for the lock"
            )
            await kill_service(platform["courses"])
            await lock.rollback()
        after_licences = await end_offsets(kafka_bootstrap, platform.topic(USER_TOPIC))
        assert await _enrolments(dsn, org_id) == FIRST_WAVE * COURSES

        # 3. Everything since the first licence is delivered again, to a new courses process.
        await rewind_group(kafka_bootstrap, group, before_licences)
        async with restarted_service(platform, "courses"):
            await eventually(
                lambda: _equals(dsn, org_id, LEARNERS * COURSES),
                what=f"courses enrols all {LEARNERS} learners after the restart",
            )
            listed = await courses.get(
                f"/organisations/{org_id}/enrolments", headers=identity.staff
            )
            assert listed.status_code == 200, listed.text
            await eventually(lambda: _outbox_empty(dsn), what="courses publishes its events")
            records = await records_since(kafka_bootstrap, before_enrolments)
            async with connected(dsn) as conn:
                table = await conn.fetch(
                    "SELECT user_id::text, course_id::text, status FROM enrolments "
                    "WHERE organisation_id = $1::uuid",
                    org_id,
                )
                stored = await conn.fetch(
                    "SELECT payload->>'user_id' AS user_id, payload->>'course_id' AS course_id "
                    "FROM events WHERE event_type = $1 AND payload->>'organisation_id' = $2",
                    STARTED,
                    org_id,
                )
            # Redelivery really happened: the group, rewound to before the first wave, has
            # committed (after handling) every licence event again, up to the second wave's.
            await eventually(
                lambda: _none_if_behind(kafka_bootstrap, group, after_licences),
                what="the restarted consumer handles every licence event again",
            )

    expected = {(learner.user_id, course_id) for learner in learners for course_id in course_ids}
    # The API: each learner once per course, active.
    api_pairs = Counter((e["user_id"], e["course_id"]) for e in listed.json())
    assert set(api_pairs) == expected
    assert max(api_pairs.values()) == 1
    assert {e["status"] for e in listed.json()} == {"active"}
    # The projection table and the event store: no duplicate, none missing.
    table_pairs = Counter((row["user_id"], row["course_id"]) for row in table)
    assert set(table_pairs) == expected
    assert max(table_pairs.values()) == 1
    stored_pairs = Counter((row["user_id"], row["course_id"]) for row in stored)
    assert set(stored_pairs) == expected
    assert max(stored_pairs.values()) == 1
    # Kafka: one EnrolmentStarted (one event id) per learner and course.
    started = [
        record
        for record in records
        if header(record, "ce_type") == EnrolmentStarted.ce_type()
        and payload(record)["organisation_id"] == org_id
    ]
    ids_per_pair: dict[tuple[str, str], set[str]] = {}
    for record in started:
        body = payload(record)
        pair = (body["user_id"], body["course_id"])
        ids_per_pair.setdefault(pair, set()).add(header(record, "ce_id"))
    assert set(ids_per_pair) == expected
    duplicates = {pair: ids for pair, ids in ids_per_pair.items() if len(ids) != 1}
    assert duplicates == {}, f"more than one EnrolmentStarted for {len(duplicates)} pairs"
