"""The retention clock of correspondence (R9) runs in consent's own background worker: an item
past its retention date disappears while the worker runs, and a held one stays."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import date, timedelta

from consent.bootstrap import background_workers
from consent.service_layer.customers import handle_contract_ended

from .correspondence_support import Env, email_body, phone_body

DEADLINE_SECONDS = 60.0


async def stored(env: Env, correspondence_id: str) -> bool:
    found = await env.runtime.pool.fetchval(
        "SELECT count(*) FROM correspondence_items WHERE correspondence_id = $1",
        uuid.UUID(correspondence_id),
    )
    return bool(found)


async def test_the_running_worker_purges_expired_correspondence(consent_env: Env) -> None:
    env = consent_env
    organisation = uuid.uuid4()
    expiring = (
        await env.http.post(
            "/correspondence/email", json=email_body(organisation), headers=env.staff
        )
    ).json()
    held = (
        await env.http.post(
            "/correspondence/phone", json=phone_body(organisation), headers=env.staff
        )
    ).json()
    complaint = await env.http.post(
        "/complaints",
        json={
            "kind": "complaint",
            "subject_ref": held["subject_ref"],
            "summary": "Klage.",
            "concerns": ["correspondence"],
        },
        headers=env.staff,
    )
    assert complaint.status_code == 201, complaint.text
    assert await handle_contract_ended(
        deps=env.runtime.deps,
        event_id=str(uuid.uuid4()),
        organisation_id=organisation,
        ended_on=date(2020, 1, 31),
        legal_dispute=False,
    )
    # Kept a year from the logging day: two years on, the first item is due.
    env.clock.advance(timedelta(days=2 * 366))
    env.runtime.settings = env.runtime.settings.model_copy(
        update={"consent_correspondence_purge_interval_seconds": 0.05}
    )
    worker = background_workers(env.runtime)["correspondence-retention"]
    # (Read from the table: two years on, the test's tokens have expired.)
    assert await stored(env, expiring["correspondence_id"])

    stop = asyncio.Event()
    task = asyncio.create_task(worker(stop))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_SECONDS
        while await stored(env, expiring["correspondence_id"]):
            assert not task.done(), "the worker stopped"
            assert loop.time() < deadline, "the expired item was not purged"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)

    assert await stored(env, held["correspondence_id"])
    reason = await env.runtime.pool.fetchval(
        "SELECT payload->>'reason' FROM events"
        " WHERE event_type = 'no.byggrygg.consent.CorrespondenceErased'"
    )
    assert reason == "retention_expired"
