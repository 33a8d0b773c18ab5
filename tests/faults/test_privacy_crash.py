"""Kill -9 of a participant or of the privacy orchestrator in the middle of an erasure: after
the restart the request completes and every effect is applied exactly once (issue 5; R16, R19).

Each test runs its own platform (identity, courses, consent, the orchestrator and HeiHallo's
simulator as real processes on topics of their own) and makes its crash land where it wants
it, never by timing:

- a participant down when the erasure is filed: its command waits on Kafka;
- a participant stopped inside its erasure transaction by a table lock the test holds, then
  killed, and later given every command again (its consumer group rewound: at-least-once);
- the orchestrator killed while HeiHallo refuses its signed request (the participants have
  replied, the sub-processor has not confirmed);
- the orchestrator killed inside the transaction that completes the request: the test holds
  the completion records' chain head, so that transaction stops after the subject's key was
  shredded and before the record is appended and anything commits;
- the orchestrator killed after the request's commit and before its outbox relay published
  the commands (the test holds the relay's advisory lock);
- the orchestrator killed while HeiHallo's confirmation callback is on its way (held on the
  request's row lock): HeiHallo retries while the orchestrator is down and gives up. The
  restarted orchestrator asks HeiHallo again (a new message once
  BYGGRYGG_PRIVACY_ORCHESTRATOR_SUBPROCESSOR_RESEND_SECONDS passed without a confirmation;
  10 s in the harness) and the request completes.

Afterwards (privacy_flow.assert_erased_exactly_once): one `ParticipantReplied` per participant
in its own event store, one command per participant, one `EnrolmentErased` per enrolment, the
learner gone from courses and identity, the subject's key shredded, one HeiHallo delivery and
confirmation, one `ReplyRecorded` per participant and one `RequestCompleted` in the request's
history, one completion record; and the export of all records verifies offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from byggrygg_shared.contracts.privacy import command_topic
from byggrygg_shared.outbox import RELAY_LOCK_KEY

from ..identity_client import IdentityApi
from ..platform_processes import ORCHESTRATOR, Platform, kill_service, restarted_service
from .crash_tools import (
    Offsets,
    committed_offsets,
    connected,
    end_offsets,
    eventually,
    rewind_group,
    scalar,
)
from .privacy_flow import (
    PARTICIPANTS,
    assert_erased_exactly_once,
    ended_view,
    enrolled_learner,
    erasure_waiting_for_courses,
    file_erasure,
    heihallo_accepted,
    heihallo_callback,
    only_courses_missing,
    orchestrator_client,
    replied,
    replies_stored,
    sessions_waiting_for_a_lock,
    sub_processor_states,
    verified_records,
    view_when,
)

pytestmark = pytest.mark.slow

COMMAND_STREAM = "privacy-commands-"


async def _group_caught_up(bootstrap: str, group: str, wanted: Offsets) -> bool | None:
    """True once `group` has committed at least `wanted` on each of those partitions."""
    committed = await committed_offsets(bootstrap, group)
    return None if any(committed.get(p, -1) < o for p, o in wanted.items()) else True


async def _holds_relay_lock(conn: asyncpg.Connection) -> bool | None:
    """Take the outbox relay's lock for this test's session; None while a relay holds it."""
    taken = await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY)
    return True if taken else None


async def _callback_when(
    platform: Platform, request_id: str, outcomes: set[str], *, attempts: int = 0
) -> dict[str, Any] | None:
    """HeiHallo's callback of the request once its outcome is one of `outcomes` after at least
    `attempts` attempts; None before."""
    callback = await heihallo_callback(platform, request_id)
    if callback is None or callback["outcome"] not in outcomes:
        return None
    return callback if callback["attempts"] >= attempts else None


async def test_a_participant_down_when_the_erasure_is_filed_erases_once_after_its_restart(
    privacy_platform: Platform, privacy_identity: IdentityApi, tmp_path: Path
) -> None:
    platform, staff = privacy_platform, privacy_identity.staff
    erased = await enrolled_learner(platform, privacy_identity)
    async with orchestrator_client(platform) as orchestrator:
        # Everyone else answers; the request waits for courses, whose command waits on Kafka.
        request_id, waiting = await erasure_waiting_for_courses(
            platform, orchestrator, staff, erased.learner.subject_ref
        )
        assert waiting["state"] == "in_progress", waiting
        assert await replies_stored(platform["courses"].database_url, request_id) == 0

        async with restarted_service(platform, "courses"):
            view = await ended_view(orchestrator, staff, request_id)
            assert view["state"] == "completed", view
            assert replied(view) >= PARTICIPANTS
            await assert_erased_exactly_once(platform, erased, request_id)
            record = await verified_records(orchestrator, staff, tmp_path, request_id)
    assert record["outcome"] == "completed"
    assert {p["participant"] for p in record["participants"]} >= PARTICIPANTS


async def test_a_participant_killed_inside_its_erasure_transaction_erases_once_after_restart(
    privacy_platform: Platform, privacy_identity: IdentityApi, kafka_bootstrap: str, tmp_path: Path
) -> None:
    platform, staff = privacy_platform, privacy_identity.staff
    courses_dsn = platform["courses"].database_url
    group = platform.env["BYGGRYGG_COURSES_CONSUMER_GROUP"]
    commands_topic = platform.topic(command_topic("courses"))
    erased = await enrolled_learner(platform, privacy_identity)
    before_command = await end_offsets(kafka_bootstrap, commands_topic)
    async with orchestrator_client(platform) as orchestrator:
        # courses takes the command, claims it and stops at the learners table: killed there.
        async with connected(courses_dsn) as blocker:
            lock = blocker.transaction()
            await lock.start()
            await blocker.execute("LOCK TABLE learners IN EXCLUSIVE MODE")
            request_id = await file_erasure(orchestrator, staff, erased.learner.subject_ref)
            await eventually(
                lambda: sessions_waiting_for_a_lock(courses_dsn),
                what="courses' erasure waits for the learners table",
            )
            await view_when(
                orchestrator,
                staff,
                request_id,
                what="identity and consent reply while courses is stopped",
                holds=only_courses_missing,
            )
            await kill_service(platform["courses"])
            await lock.rollback()
        # Nothing of the killed transaction stayed: no reply, the learner still there.
        assert await replies_stored(courses_dsn, request_id) == 0
        assert (
            await scalar(
                courses_dsn,
                "SELECT count(*) FROM learners WHERE subject_ref = $1",
                erased.learner.subject_ref,
            )
            == 1
        )
        after_command = await end_offsets(kafka_bootstrap, commands_topic)
        assert after_command != before_command, "the command was never published"

        async with restarted_service(platform, "courses") as restarted:
            view = await ended_view(orchestrator, staff, request_id)
            assert view["state"] == "completed", view
            await assert_erased_exactly_once(platform, erased, request_id)
            await kill_service(restarted)

        # The worst a crash between courses' commit and its offset commit can do: the command
        # is delivered again. The inbox must absorb it: still one reply, one erasure each.
        await rewind_group(kafka_bootstrap, group, before_command)
        async with restarted_service(platform, "courses"):
            await eventually(
                lambda: _group_caught_up(kafka_bootstrap, group, after_command),
                what="the restarted courses handles the command again",
            )
            await assert_erased_exactly_once(platform, erased, request_id)
            record = await verified_records(orchestrator, staff, tmp_path, request_id)
    assert record["outcome"] == "completed"


async def test_the_orchestrator_killed_while_heihallo_has_not_confirmed_completes_once(
    privacy_platform: Platform, privacy_identity: IdentityApi, tmp_path: Path
) -> None:
    platform, staff = privacy_platform, privacy_identity.staff
    erased = await enrolled_learner(platform, privacy_identity)
    # HeiHallo answers 500 to this subject's requests: the delivery stays pending, retried.
    await platform.simulator.set_mode("fail", subject_ref=erased.learner.subject_ref)
    async with orchestrator_client(platform) as orchestrator:
        request_id = await file_erasure(orchestrator, staff, erased.learner.subject_ref)
        waiting = await view_when(
            orchestrator,
            staff,
            request_id,
            what="every participant replies and HeiHallo refused at least once",
            holds=lambda view: (
                replied(view) >= PARTICIPANTS
                and sub_processor_states(view) == ["pending"]
                and view["sub_processors"][0]["attempts"] >= 1
            ),
        )
        assert waiting["state"] == "in_progress", waiting
        await kill_service(platform[ORCHESTRATOR])
        assert await heihallo_accepted(platform, request_id) == 0
        await platform.simulator.set_mode("normal", subject_ref=erased.learner.subject_ref)

        async with restarted_service(platform, ORCHESTRATOR):
            view = await ended_view(orchestrator, staff, request_id)
            assert view["state"] == "completed", view
            assert sub_processor_states(view) == ["confirmed"]
            await assert_erased_exactly_once(platform, erased, request_id)
            assert await heihallo_accepted(platform, request_id) >= 1
            record = await verified_records(orchestrator, staff, tmp_path, request_id)
    assert record["outcome"] == "completed"
    [heihallo] = record["sub_processors"]
    assert heihallo["outcome"] == "completed"
    assert heihallo["attempts"] >= 2, heihallo  # refused before the kill, accepted after


async def test_the_orchestrator_killed_inside_the_completing_transaction_records_once(
    privacy_platform: Platform, privacy_identity: IdentityApi, tmp_path: Path
) -> None:
    platform, staff = privacy_platform, privacy_identity.staff
    orchestrator_dsn = platform[ORCHESTRATOR].database_url
    erased = await enrolled_learner(platform, privacy_identity)
    # courses' reply shall be the last answer: it is redelivered from Kafka after the crash,
    # however long the restart takes (HeiHallo's callback retries would run out).
    async with orchestrator_client(platform) as orchestrator:
        request_id, _ = await erasure_waiting_for_courses(
            platform, orchestrator, staff, erased.learner.subject_ref
        )
        async with connected(orchestrator_dsn) as blocker:
            lock = blocker.transaction()
            await lock.start()
            await blocker.execute("SELECT * FROM record_chain_head FOR UPDATE")
            async with restarted_service(platform, "courses"):
                # courses' reply completes the request: the request is saved, the key
                # shredded, then appending the record waits for the chain head. Killed there,
                # nothing of that transaction commits.
                await eventually(
                    lambda: sessions_waiting_for_a_lock(orchestrator_dsn),
                    what="the completing transaction waits for the chain head",
                )
                await kill_service(platform[ORCHESTRATOR])
                await lock.rollback()
                async with connected(orchestrator_dsn) as conn:
                    state = await conn.fetchval(
                        "SELECT state FROM requests WHERE request_id = $1::uuid", request_id
                    )
                    records = await conn.fetchval(
                        "SELECT count(*) FROM completion_records WHERE request_id = $1::uuid",
                        request_id,
                    )
                assert (state, records) == ("in_progress", 0)

                async with restarted_service(platform, ORCHESTRATOR):
                    view = await ended_view(orchestrator, staff, request_id)
                    assert view["state"] == "completed", view
                    await assert_erased_exactly_once(platform, erased, request_id)
                    record = await verified_records(orchestrator, staff, tmp_path, request_id)
    assert record["outcome"] == "completed"


async def test_commands_committed_before_the_orchestrator_is_killed_are_sent_after_restart(
    privacy_platform: Platform, privacy_identity: IdentityApi, tmp_path: Path
) -> None:
    platform, staff = privacy_platform, privacy_identity.staff
    orchestrator_dsn = platform[ORCHESTRATOR].database_url
    erased = await enrolled_learner(platform, privacy_identity)
    # HeiHallo refuses until the last restart: its confirmation must not be in flight when the
    # orchestrator is killed (that case is the next test's).
    await platform.simulator.set_mode("fail", subject_ref=erased.learner.subject_ref)
    async with orchestrator_client(platform) as orchestrator:
        # An orchestrator whose relay cannot publish takes the request; then it is killed.
        await kill_service(platform[ORCHESTRATOR])
        async with connected(orchestrator_dsn) as holder:
            await eventually(lambda: _holds_relay_lock(holder), what="the relay's lock is free")
            async with restarted_service(platform, ORCHESTRATOR) as second:
                request_id = await file_erasure(orchestrator, staff, erased.learner.subject_ref)
                unpublished = await scalar(
                    orchestrator_dsn,
                    "SELECT count(*) FROM events WHERE stream_id = $1 AND published_at IS NULL",
                    COMMAND_STREAM + request_id,
                )
                assert unpublished >= len(PARTICIPANTS)
                await kill_service(second)
            await holder.execute("SELECT pg_advisory_unlock($1)", RELAY_LOCK_KEY)
        for name in sorted(PARTICIPANTS):
            # Nobody got a command, so nobody replied.
            assert await replies_stored(platform[name].database_url, request_id) == 0
        await platform.simulator.set_mode("normal", subject_ref=erased.learner.subject_ref)

        async with restarted_service(platform, ORCHESTRATOR):
            view = await ended_view(orchestrator, staff, request_id)
            assert view["state"] == "completed", view
            await assert_erased_exactly_once(platform, erased, request_id)
            record = await verified_records(orchestrator, staff, tmp_path, request_id)
    assert record["outcome"] == "completed"


async def test_a_confirmation_lost_while_the_orchestrator_was_down_still_completes_the_request(
    privacy_platform: Platform, privacy_identity: IdentityApi, tmp_path: Path
) -> None:
    """HeiHallo accepted the request and calls back while the orchestrator is dead, retries and
    gives up (its retry window is the simulator's, ~25 s in the harness; any sub-processor's is
    finite). Issue 5 still wants the request completed after the restart: the orchestrator
    asks again when no confirmation comes."""
    platform, staff = privacy_platform, privacy_identity.staff
    orchestrator_dsn = platform[ORCHESTRATOR].database_url
    erased = await enrolled_learner(platform, privacy_identity)
    subject_ref = erased.learner.subject_ref
    await platform.simulator.set_mode("fail", subject_ref=subject_ref)
    async with orchestrator_client(platform) as orchestrator:
        request_id = await file_erasure(orchestrator, staff, subject_ref)
        async with connected(orchestrator_dsn) as blocker:
            # The request's row, as every answer locks it: HeiHallo's callback will stop there.
            lock = blocker.transaction()
            await lock.start()
            await blocker.execute(
                "SELECT 1 FROM requests WHERE request_id = $1::uuid FOR UPDATE", request_id
            )
            await platform.simulator.set_mode("normal", subject_ref=subject_ref)
            await eventually(
                lambda: _callback_when(platform, request_id, {"pending"}, attempts=1),
                what="HeiHallo accepts the request and its callback waits on the request's row",
            )
            await eventually(
                lambda: sessions_waiting_for_a_lock(orchestrator_dsn),
                what="the callback's transaction waits for the request's row",
            )
            await kill_service(platform[ORCHESTRATOR])
            await lock.rollback()
        gave_up = await eventually(
            lambda: _callback_when(platform, request_id, {"gave_up", "delivered", "refused"}),
            what="HeiHallo stops calling back",
        )
        assert gave_up["outcome"] == "gave_up", gave_up

        async with restarted_service(platform, ORCHESTRATOR):
            view = await view_when(
                orchestrator,
                staff,
                request_id,
                what=(
                    "the request completes after the orchestrator's restart although HeiHallo's "
                    "confirmation was lost while it was down (the orchestrator asks again)"
                ),
                holds=lambda view: view["state"] in {"completed", "partially_completed"},
            )
            assert view["state"] == "completed", view
            await assert_erased_exactly_once(platform, erased, request_id)
            # Asked twice, confirmed once (the delivery and the confirmation counted above).
            assert await heihallo_accepted(platform, request_id) >= 2
            record = await verified_records(orchestrator, staff, tmp_path, request_id)
    assert record["outcome"] == "completed"
