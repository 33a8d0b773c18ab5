"""A participant's reply lost on its way to the privacy orchestrator (R13, DESIGN §5): the
orchestrator's time-out sends the command again, the participant (which carried it out
before) publishes its recorded reply again, and the request completes with every effect
applied once.

How the reply is lost, on the real processes (identity, courses, consent, the orchestrator
and HeiHallo's simulator, on topics of this test only): courses is down when the erasure is
filed; the others answer; the orchestrator is killed; courses comes back, carries out its
command and publishes its reply; then that reply is deleted from the replies topic (as the
topic's retention would while the orchestrator stayed down) before the orchestrator starts
again. Its consumer finds its committed offset gone and starts after the deleted records:
the reply never reaches it. Only the re-sent command can bring it back.

The time-out is short here (BYGGRYGG_PRIVACY_ORCHESTRATOR_PARTICIPANT_TIMEOUT_HOURS), and
the resends many, so that courses' downtime never escalates it first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from byggrygg_shared.contracts.privacy import REPLIES_TOPIC

from ..identity_client import IdentityApi
from ..platform_processes import (
    ORCHESTRATOR,
    Platform,
    kill_service,
    restarted_service,
)
from .conftest import privacy_platform_with, staff_identity
from .crash_tools import delete_records_before, end_offsets
from .privacy_flow import (
    PARTICIPANTS,
    assert_erased_exactly_once,
    ended_view,
    enrolled_learner,
    erasure_waiting_for_courses,
    orchestrator_client,
    replied,
    replies_stored,
    until_published,
)

pytestmark = pytest.mark.slow

CHASE_SOON = {
    "BYGGRYGG_PRIVACY_ORCHESTRATOR_PARTICIPANT_TIMEOUT_HOURS": str(8 / 3600),  # 8 s
    "BYGGRYGG_PRIVACY_ORCHESTRATOR_PARTICIPANT_CHECK_SECONDS": "1",
    "BYGGRYGG_PRIVACY_ORCHESTRATOR_PARTICIPANT_MAX_RESENDS": "50",
}


@pytest_asyncio.fixture
async def chasing_platform(
    pg_admin_dsn: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Platform]:
    async with privacy_platform_with(
        pg_admin_dsn, kafka_bootstrap, tmp_path, extra_env=CHASE_SOON
    ) as running:
        yield running


@pytest_asyncio.fixture
async def chasing_identity(chasing_platform: Platform) -> AsyncIterator[IdentityApi]:
    async with staff_identity(chasing_platform) as api:
        yield api


async def test_a_reply_lost_on_its_way_comes_again_with_the_re_sent_command(
    chasing_platform: Platform, chasing_identity: IdentityApi, kafka_bootstrap: str, tmp_path: Path
) -> None:
    platform, staff = chasing_platform, chasing_identity.staff
    erased = await enrolled_learner(platform, chasing_identity)
    courses_dsn = platform["courses"].database_url
    async with orchestrator_client(platform) as orchestrator:
        request_id, _ = await erasure_waiting_for_courses(
            platform, orchestrator, staff, erased.learner.subject_ref
        )
    await kill_service(platform[ORCHESTRATOR])

    async with restarted_service(platform, "courses"):
        # courses carries out its command and its relay publishes the reply...
        await until_published(courses_dsn, "privacy-reply-")
        assert await replies_stored(courses_dsn, request_id) == 1
        # ...which is deleted before the orchestrator is back to read it.
        replies_topic = platform.topic(REPLIES_TOPIC)
        ends = await end_offsets(kafka_bootstrap, replies_topic)
        assert any(ends.values()), "the replies so far are on the topic"
        assert await delete_records_before(kafka_bootstrap, ends) == ends

        async with (
            restarted_service(platform, ORCHESTRATOR),
            orchestrator_client(platform) as orchestrator,
        ):
            view = await ended_view(orchestrator, staff, request_id)
            assert view["state"] == "completed", view
            assert replied(view) >= PARTICIPANTS
            assert view["participants"]["courses"]["resends"] >= 1, view
            # One reply in courses' store (published twice), one of each effect.
            assert await replies_stored(courses_dsn, request_id) == 1
            await assert_erased_exactly_once(
                platform, erased, request_id, resent=frozenset({"courses"})
            )
