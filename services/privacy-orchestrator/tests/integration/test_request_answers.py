"""A participant's reply and a sub-processor's confirmation arriving at the same moment (R13):
whichever commits second sees the other and completes the request, exactly once, on real
PostgreSQL (the request row's lock orders them)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from uuid import UUID, uuid4

from byggrygg_shared.auth import Principal, Role
from byggrygg_shared.contracts.privacy import Evidence, ParticipantReplied
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import ReceivedEvent
from privacy_orchestrator.bootstrap import Runtime
from privacy_orchestrator.domain.records import RequestKind
from privacy_orchestrator.domain.request import DataSubjectRequest
from privacy_orchestrator.domain.subprocessors import Confirmation, PrivacyAction
from privacy_orchestrator.service_layer import requests

ROUNDS = 8


def _learner() -> Principal:
    return Principal(
        user_id=str(uuid4()),
        subject_ref="subj_" + uuid4().hex,
        organisation_id=None,
        roles=frozenset({Role.LEARNER}),
    )


def _reply(request_id: UUID, subject: str) -> tuple[ParticipantReplied, ReceivedEvent]:
    reply = ParticipantReplied(
        request_id=request_id,
        participant="identity",
        command="erase",
        subject_ref=subject,
        outcome="completed",
        evidence=[Evidence(location="column users.name", action="erased", count=1)],
        export=None,
        replied_at=datetime.now(UTC),
    )
    received = ReceivedEvent(
        id=str(uuid4()),
        type=reply.ce_type(),
        source="identity",
        subject=None,
        time=None,
        correlation_id=str(request_id),
        causation_id=None,
        tenant_id=None,
        data=reply.model_dump(mode="json"),
    )
    return reply, received


async def test_a_reply_and_a_confirmation_together_complete_the_request_once(
    runtime: Runtime,
) -> None:
    deps = dataclasses.replace(runtime.deps, participants=("identity",))
    store = runtime.subprocessors.store
    for _ in range(ROUNDS):
        learner = _learner()
        view = await requests.file_request(deps, learner, kind=RequestKind.ERASURE)
        request = await _load(runtime, view.request_id)
        [asked] = request.sub_processors.values()
        confirmation = Confirmation(
            subprocessor_id=asked.subprocessor_id,
            subprocessor_name=asked.name,
            organisation_number=asked.organisation_number,
            request_id=view.request_id,
            action=PrivacyAction.ERASURE,
            outcome="erased",
            records=1,
            fields=2,
            completed_at=datetime.now(UTC),
            confirmed_at=datetime.now(UTC),
            webhook_id=f"msg_{uuid4().hex}",
            export=None,
        )

        async def confirm(
            confirmation: Confirmation = confirmation, delivery: UUID = asked.delivery_id
        ) -> None:
            async with transaction(runtime.pool) as conn:
                await store.add_confirmation(conn, confirmation, delivery_id=delivery)
                await requests.record_confirmation(conn, deps, confirmation)

        reply, received = _reply(view.request_id, learner.subject_ref)
        recorded, _ = await asyncio.gather(requests.record_reply(deps, reply, received), confirm())
        assert recorded
        done = await requests.get_request(deps, learner, view.request_id)
        assert done.state == "completed", done
        assert [s["state"] for s in done.sub_processors] == ["confirmed"]
        async with runtime.pool.acquire() as conn:
            count = await conn.fetchval(
                "SELECT count(*) FROM completion_records WHERE request_id = $1", view.request_id
            )
        assert count == 1


async def _load(runtime: Runtime, request_id: UUID) -> DataSubjectRequest:
    async with runtime.pool.acquire() as conn:
        found = await runtime.deps.requests.get(conn, request_id)
    assert found is not None
    return found
