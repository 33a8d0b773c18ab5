"""What identity's licence events mean for courses (R6, R7), applied idempotently.

- ``LicenceGranted``: the user becomes a licensed learner of the organisation and is enrolled
  in the courses assigned to it (``enrolling``), unless the subject was already erased on a
  privacy request (the command travels on another topic and may overtake the licence).
- ``LicenceRevoked`` / ``SubscriptionCancelled``: access ends. Every enrolment not yet ended
  ends with the reason; the learner is no longer licensed, so answering is refused afterwards
  (the privacy orchestrator then erases the learner's data, R6).

Each handler claims the event in the inbox in the same transaction as its effect, so a
redelivered event changes nothing (DESIGN §2).
"""

from __future__ import annotations

import logging
from typing import Final

import asyncpg

from byggrygg_shared.contracts import identity
from byggrygg_shared.envelope import ReceivedEvent
from byggrygg_shared.inbox import claim
from courses.adapters.projections import project_enrolment
from courses.adapters.queries import LearnerView, assigned_courses, open_enrolment_ids
from courses.domain.enrolment import EndReason
from courses.service_layer.context import Dependencies
from courses.service_layer.enrolling import enrol_learner_in_assigned

CONSUMER: Final = "courses.licences"

logger = logging.getLogger(__name__)


async def _erased(conn: asyncpg.Connection, subject_ref: str) -> bool:
    """Whether the subject was erased on a privacy request (``erased_learners``)."""
    return bool(
        await conn.fetchval("SELECT 1 FROM erased_learners WHERE subject_ref = $1", subject_ref)
    )


async def handle_licence_granted(
    *, deps: Dependencies, event: identity.LicenceGranted, received: ReceivedEvent
) -> bool:
    """Apply a granted licence; False if this event was applied before."""
    async with deps.unit_of_work() as conn:
        if not await claim(conn, consumer=CONSUMER, event_id=received.id):
            return False
        if await _erased(conn, event.subject_ref):
            # The licence event came after the learner's erasure (another topic): applied,
            # with nothing to do; the learner must not come back.
            logger.info("licence %s of an erased learner ignored", event.licence_id)
            return True
        await conn.execute(
            """
            INSERT INTO learners (user_id, subject_ref, organisation_id, licence_id, status,
                                  licensed_at, ended_at, end_reason)
            VALUES ($1, $2, $3, $4, 'licensed', $5, NULL, NULL)
            ON CONFLICT (user_id) DO UPDATE SET
                organisation_id = EXCLUDED.organisation_id, licence_id = EXCLUDED.licence_id,
                status = 'licensed', licensed_at = EXCLUDED.licensed_at, ended_at = NULL,
                end_reason = NULL
            """,
            event.user_id,
            event.subject_ref,
            event.organisation_id,
            event.licence_id,
            deps.clock(),
        )
        learner = LearnerView(
            user_id=event.user_id,
            subject_ref=event.subject_ref,
            organisation_id=event.organisation_id,
            status="licensed",
        )
        await enrol_learner_in_assigned(
            conn,
            deps,
            learner=learner,
            courses=await assigned_courses(conn, event.organisation_id),
            started_by=f"licence:{event.licence_id}",
            metadata=lambda: deps.metadata(organisation_id=event.organisation_id, cause=received),
        )
    return True


async def handle_access_ended(
    *,
    deps: Dependencies,
    event: identity.LicenceRevoked | identity.SubscriptionCancelled,
    received: ReceivedEvent,
) -> bool:
    """End the learner's access; False if this event was applied before."""
    reason = (
        EndReason.LICENCE_REVOKED
        if isinstance(event, identity.LicenceRevoked)
        else EndReason.SUBSCRIPTION_CANCELLED
    )
    async with deps.unit_of_work() as conn:
        if not await claim(conn, consumer=CONSUMER, event_id=received.id):
            return False
        await conn.execute(
            "UPDATE learners SET status = 'ended', ended_at = $2, end_reason = $3 "
            "WHERE user_id = $1",
            event.user_id,
            deps.clock(),
            reason.value,
        )
        for enrolment_id in await open_enrolment_ids(conn, event.user_id):
            enrolment = await deps.enrolments.get(conn, enrolment_id)
            if enrolment is None or not enrolment.end(reason=reason):
                continue
            recorded = await deps.enrolments.save(
                conn,
                enrolment,
                aggregate_id=enrolment.id,
                metadata=deps.metadata(organisation_id=event.organisation_id, cause=received),
            )
            await project_enrolment(conn, recorded)
    return True
