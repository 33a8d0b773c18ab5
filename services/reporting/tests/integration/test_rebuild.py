"""The read models rebuilt from offset zero (real Kafka and PostgreSQL) equal the live
projection: same rows in every read model, a person erased before the rebuild stays unlinked,
the swapped-in tables are exactly alembic's schema, and the live projection goes on writing to
them afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from byggrygg_shared.contracts.privacy import EraseSubject
from byggrygg_shared.db import transaction
from byggrygg_shared.messaging import Backoff
from byggrygg_shared.migrations import schema_differences
from byggrygg_shared.subscriptions import Subscriptions
from reporting.adapters.tables import METADATA, READ_MODELS
from reporting.bootstrap import Runtime
from reporting.entrypoints.consumers import register_consumers
from reporting.service_layer.privacy_commands import ReportingPrivacy
from reporting.service_layer.rebuild import rebuild

from ....participant_testing import eventually, produce
from ....service_testing import run_cli
from .support import START, CourseStory

NewTopic = Callable[..., Awaitable[str]]
ORGS = (uuid.uuid4(), uuid.uuid4(), uuid.uuid4())


def _keyring_table(difference: object) -> bool:
    return (
        isinstance(difference, tuple)
        and difference[0] == "remove_table"
        and str(difference[1].name).startswith("keyring")
    )


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every read model, in a stable order."""
    found: dict[str, list[tuple[object, ...]]] = {}
    async with pool.acquire() as conn:
        for table in READ_MODELS:
            rows = await conn.fetch(f"SELECT * FROM {table.name}")
            found[table.name] = sorted((tuple(row.values()) for row in rows), key=repr)
    return found


async def test_a_rebuild_from_offset_zero_equals_the_live_projection(
    runtime: Runtime, reporting_dsn: str, kafka_bootstrap: str, new_topic: NewTopic
) -> None:
    catalogue = await new_topic("reporting-catalogue", partitions=2)
    enrolments = await new_topic("reporting-enrolment", partitions=3)
    commands = await new_topic("reporting-commands")
    story = CourseStory(catalogue_topic=catalogue, enrolment_topic=enrolments)
    courses = [story.course(organisations=ORGS), story.course(organisations=ORGS[:1])]
    learners = []
    for index in range(12):
        course = courses[index % 2]
        at = START + timedelta(days=17 * index)
        learner = story.enrol(course, ORGS[index % 3], at=at)
        learners.append(learner)
        story.answer(learner, course.choice, selected_option_ids=[course.options[index % 3]], at=at)
        story.answer(learner, course.scale, scale_value=1 + index % 5, at=at)
        token = await runtime.keyring.encrypt(learner.subject_ref, f"Svar {index}")
        story.answer(learner, course.text, free_text=token, at=at)
        if index % 3 == 0:
            story.complete(learner, at=at + timedelta(days=40))
    story.erased_by_courses(learners[5])
    await produce(kafka_bootstrap, *story.records)

    subscriptions = Subscriptions(
        bootstrap=kafka_bootstrap,
        client_id="reporting-test",
        register=register_consumers(
            runtime,
            group_id=f"reporting-test-{uuid.uuid4().hex[:8]}",
            catalogue_topic=catalogue,
            enrolment_topic=enrolments,
            privacy_command_topic=commands,
        ),
        backoff=Backoff(initial=0.01, maximum=0.05),
    )
    async with subscriptions.running():

        async def projected() -> bool:
            answers = await runtime.pool.fetchval("SELECT count(*) FROM answers")
            unlinked = await runtime.pool.fetchval("SELECT count(*) FROM enrolments WHERE unlinked")
            completed = await runtime.pool.fetchval(
                "SELECT count(*) FROM enrolments WHERE completed_at IS NOT NULL"
            )
            courses = await runtime.pool.fetchval("SELECT count(*) FROM courses")
            return (answers, unlinked, completed, courses) == (36, 1, 4, 2)

        await eventually(projected, what="the live projection")
        # Kari (learner 0) is erased on request: the rebuild must not link her again.
        kari = learners[0]
        erase = EraseSubject(
            request_id=uuid.uuid4(),
            participant="reporting",
            subject_ref=kari.subject_ref,
            organisation_id=kari.organisation_id,
            issued_at=datetime.now(UTC),
            holds=[],
        )
        async with transaction(runtime.pool) as conn:
            await ReportingPrivacy(runtime.deps).erase(conn, erase)
        live = await snapshot(runtime.pool)

        counts = await rebuild(
            runtime.pool,
            bootstrap=kafka_bootstrap,
            topics=[catalogue, enrolments],
            group_id=f"reporting-rebuild-{uuid.uuid4().hex[:8]}",
        )

        assert counts.events == len(story.records)
        assert counts.applied == len(story.records)
        assert await snapshot(runtime.pool) == live
        assert not await runtime.pool.fetchval(
            "SELECT count(*) FROM enrolments WHERE subject_ref = $1", kari.subject_ref
        )
        differences = await schema_differences(reporting_dsn, METADATA)
        # The test's key ring shares the database; it is not reporting's schema.
        assert [d for d in differences if not _keyring_table(d)] == []

        # The live projection goes on, into the swapped-in tables.
        late = CourseStory(catalogue_topic=catalogue, enrolment_topic=enrolments)
        newcomer = late.enrol(courses[0], ORGS[0])
        late.answer(newcomer, courses[0].scale, scale_value=3)
        await produce(kafka_bootstrap, *late.records)

        async def continued() -> bool:
            return bool(
                await runtime.pool.fetchval(
                    "SELECT count(*) FROM answers WHERE enrolment_id = $1", newcomer.enrolment_id
                )
            )

        await eventually(continued, what="the live projection after the swap")


async def test_the_rebuild_command_fills_the_read_models_from_the_deployments_topics(
    reporting_dsn: str, kafka_bootstrap: str, new_topic: NewTopic
) -> None:
    # The deployment's topic names under a prefix of this test's own (BYGGRYGG_KAFKA_TOPIC_PREFIX).
    prefix = f"rb{uuid.uuid4().hex[:8]}."
    catalogue = await new_topic(prefix + "courses.catalogue.v1", exact=True)
    enrolments = await new_topic(prefix + "courses.enrolment.v1", exact=True)
    story = CourseStory(catalogue_topic=catalogue, enrolment_topic=enrolments)
    course = story.course(organisations=ORGS[:1])
    learner = story.enrol(course, ORGS[0])
    story.answer(learner, course.scale, scale_value=2)
    await produce(kafka_bootstrap, *story.records)

    code, output = await run_cli(
        "reporting",
        "rebuild",
        env={
            "BYGGRYGG_REPORTING_DATABASE_URL": reporting_dsn,
            "BYGGRYGG_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "BYGGRYGG_KAFKA_TOPIC_PREFIX": prefix,
        },
    )

    assert code == 0, output
    assert f"from {len(story.records)} events" in output
    conn = await asyncpg.connect(reporting_dsn)
    try:
        assert await conn.fetchval("SELECT scale_value FROM answers") == 2
        assert await conn.fetchval("SELECT count(*) FROM course_assignments") == 1
    finally:
        await conn.close()
