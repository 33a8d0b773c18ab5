"""Newsletter sign-ups never confirmed are forgotten once their link expired (R8): the
projection loses name, e-mail and role, an event records it, and the sign-up's key is
destroyed so the sealed copies in the event store (and on Kafka) cannot be read. On real
PostgreSQL and the real key ring, with the test's clock."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from byggrygg_shared.contracts import consent as contracts
from byggrygg_shared.envelope import EventMetadata
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.keyring import ERASED, is_token
from consent.bootstrap import Runtime, background_workers
from consent.service_layer.newsletter_expiry import (
    PurgeOutcome,
    UnconfirmedSignupPurger,
    purge_unconfirmed_signups,
)

from ....service_testing import MovableClock, assert_problem
from .support import DEADLINE_SECONDS, MailSink, poll, snapshot
from .test_newsletter_api import KARI, Newsletter

OLA = "ola@example.no"
PER = "per@example.no"
TTL = timedelta(hours=48)  # the default link lifetime (settings)
GRACE = timedelta(minutes=60)  # the default grace period (settings)


async def _requested(runtime: Runtime, email: str) -> dict[str, Any]:
    """The payload of the (latest) sign-up of ``email``, found by opening the tokens."""
    rows = await runtime.pool.fetch(
        "SELECT payload FROM events WHERE event_type = $1 ORDER BY global_position DESC",
        contracts.NewsletterSubscriptionRequested.event_type,
    )
    for row in rows:
        payload = dict(row["payload"])
        if await runtime.keyring.decrypt(payload["subject_ref"], payload["email"]) == email:
            return payload
    raise AssertionError(f"no readable sign-up of {email}")


async def _opened(runtime: Runtime, payload: dict[str, Any]) -> dict[str, object]:
    return {
        field: await runtime.keyring.decrypt(payload["subject_ref"], payload[field])
        for field in ("name", "email", "role")
    }


async def _row(runtime: Runtime, subscription_id: str) -> dict[str, Any]:
    row = await runtime.pool.fetchrow(
        "SELECT * FROM newsletter_subscriptions WHERE subscription_id = $1",
        UUID(subscription_id),
    )
    assert row is not None
    return dict(row)


def _without_request_id(problem: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in problem.items() if key != "request_id"}


async def test_an_expired_unconfirmed_sign_up_is_forgotten_and_only_it(
    http: httpx.AsyncClient,
    runtime: Runtime,
    mail_sink: MailSink,
    publish_policy: Any,
    staff: dict[str, str],
    clock: MovableClock,
) -> None:
    await publish_policy()
    flow = Newsletter(http, runtime, mail_sink)
    kari_confirm, kari_withdraw = await flow.subscribe(KARI)
    ola_confirm, _ = await flow.subscribe(OLA, name="Ola Nordmann")
    assert (await http.post(ola_confirm)).status_code == 200
    clock.advance(TTL - timedelta(hours=1))
    await flow.subscribe(PER, name="Per Hansen")  # its link works for 47 h more
    kari, ola, per = [await _requested(runtime, a) for a in (KARI, OLA, PER)]
    ola_before, per_before = (
        await _row(runtime, ola["subscription_id"]),
        await _row(runtime, per["subscription_id"]),
    )

    # Just past Kari's link: expired, but inside the grace period, so still kept.
    clock.advance(timedelta(hours=1, seconds=1))
    expired_answer = assert_problem(await http.post(kari_confirm), 410)
    assert await runtime.signup_purger.run_once() == PurgeOutcome()
    assert (await _row(runtime, kari["subscription_id"]))["email"] == KARI

    clock.advance(GRACE)
    outcome = await runtime.signup_purger.run_once()
    assert outcome == PurgeOutcome(expired=1, keys_destroyed=1)

    # Kari: no name, e-mail or role in the projection; the sealed copies cannot be opened.
    row = await _row(runtime, kari["subscription_id"])
    assert (row["status"], row["name"], row["email"], row["role"]) == (
        "expired",
        None,
        None,
        None,
    )
    assert row["expired_at"] == clock.now
    assert await _opened(runtime, kari) == {"name": ERASED, "email": ERASED, "role": ERASED}
    assert await runtime.keyring.is_shredded(kari["subject_ref"])
    evidence = await http.get(f"/newsletter/subscriptions/{kari['subscription_id']}", headers=staff)
    assert evidence.json()["status"] == "expired"
    assert evidence.json()["email"] is None

    # The event says so, on the newsletter topic (the relay carries it to Kafka).
    event = await runtime.pool.fetchrow(
        "SELECT payload, metadata FROM events WHERE event_type = $1",
        contracts.NewsletterSubscriptionExpired.event_type,
    )
    assert event is not None
    assert event["metadata"]["topic"] == "consent.newsletter.v1"
    assert event["payload"] == {
        "subscription_id": kari["subscription_id"],
        "subject_ref": kari["subject_ref"],
        "link_expired_at": event["payload"]["link_expired_at"],
        "expired_at": event["payload"]["expired_at"],
    }
    assert all(not is_token(value) for value in event["payload"].values())

    # Confirmed Ola and not-yet-expired Per are untouched, and still readable.
    assert await _row(runtime, ola["subscription_id"]) == ola_before
    assert await _row(runtime, per["subscription_id"]) == per_before
    assert (await _opened(runtime, ola))["name"] == "Ola Nordmann"
    assert (await _opened(runtime, per))["email"] == PER
    assert await flow.recipients(staff) == [OLA]

    # A rerun changes nothing.
    before = await snapshot(runtime.pool)
    assert await runtime.signup_purger.run_once() == PurgeOutcome()
    assert await snapshot(runtime.pool) == before

    # The old link gets the answer of any expired link; its withdrawal link changes nothing.
    after_purge = assert_problem(await http.post(kari_confirm), 410)
    assert _without_request_id(after_purge) == _without_request_id(expired_answer)
    withdrawn = await http.post(kari_withdraw)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["changed"] is False
    assert await snapshot(runtime.pool) == before

    # Kari may sign up again: a new sign-up under a new key.
    again_confirm, _ = await flow.subscribe(KARI)
    again = await _requested(runtime, KARI)
    assert again["subject_ref"] != kari["subject_ref"]
    assert (await http.post(again_confirm)).status_code == 200
    assert sorted(await flow.recipients(staff)) == [KARI, OLA]


async def test_a_sign_up_renewed_before_the_purge_keeps_its_new_link(
    http: httpx.AsyncClient,
    runtime: Runtime,
    mail_sink: MailSink,
    publish_policy: Any,
    clock: MovableClock,
) -> None:
    await publish_policy()
    flow = Newsletter(http, runtime, mail_sink)
    await flow.subscribe(KARI)
    clock.advance(TTL - timedelta(minutes=1))
    renewed_confirm, _ = await flow.subscribe(KARI)  # same sign-up, new link
    clock.advance(timedelta(minutes=1) + GRACE + timedelta(seconds=1))

    assert await runtime.signup_purger.run_once() == PurgeOutcome()
    kari = await _requested(runtime, KARI)
    assert (await _opened(runtime, kari))["email"] == KARI
    assert (await http.post(renewed_confirm)).status_code == 200


async def test_a_crash_between_commit_and_shredding_is_finished_by_the_next_run(
    http: httpx.AsyncClient,
    runtime: Runtime,
    mail_sink: MailSink,
    publish_policy: Any,
    clock: MovableClock,
) -> None:
    await publish_policy()
    await Newsletter(http, runtime, mail_sink).subscribe(KARI)
    kari = await _requested(runtime, KARI)
    clock.advance(TTL + GRACE + timedelta(seconds=1))

    # The first run commits the expiry but cannot reach the key ring (no shredder).
    cut_off = dataclasses.replace(runtime.deps, shredder=None)
    first = await purge_unconfirmed_signups(deps=cut_off, grace=GRACE)
    assert first == PurgeOutcome(expired=1)
    assert (await _row(runtime, kari["subscription_id"]))["email"] is None
    assert await runtime.pool.fetchval("SELECT count(*) FROM newsletter_key_shreds") == 1
    assert (await _opened(runtime, kari))["email"] == KARI

    assert await runtime.signup_purger.run_once() == PurgeOutcome(keys_destroyed=1)
    assert await _opened(runtime, kari) == {"name": ERASED, "email": ERASED, "role": ERASED}
    assert await runtime.pool.fetchval("SELECT count(*) FROM newsletter_key_shreds") == 0

    # A crash after shredding but before the queue row went: the rerun only tidies up.
    await runtime.pool.execute(
        "INSERT INTO newsletter_key_shreds (subject_ref, subscription_id, queued_at) "
        "VALUES ($1, $2, $3)",
        kari["subject_ref"],
        UUID(kari["subscription_id"]),
        clock.now,
    )
    assert await runtime.signup_purger.run_once() == PurgeOutcome()
    assert await runtime.pool.fetchval("SELECT count(*) FROM newsletter_key_shreds") == 0
    assert (
        await runtime.pool.fetchval(
            "SELECT count(*) FROM events WHERE event_type = $1",
            contracts.NewsletterSubscriptionExpired.event_type,
        )
        == 1
    )


async def test_a_confirmation_mail_never_sent_is_dropped_with_its_sign_up(
    http: httpx.AsyncClient,
    runtime: Runtime,
    mail_sink: MailSink,
    publish_policy: Any,
    clock: MovableClock,
) -> None:
    await publish_policy()
    flow = Newsletter(http, runtime, mail_sink)
    await mail_sink.stop()  # the SMTP server is away for the whole lifetime of the link
    response = await http.post(
        "/newsletter/subscriptions",
        json={
            "name": "Kari Nordmann",
            "email": KARI,
            "role": "daglig leder",
            "wording_sha256": (await flow.wording())["sha256"],
        },
    )
    assert response.status_code == 202, response.text
    assert await runtime.mail_sender.send_due() == 0
    clock.advance(TTL + GRACE + timedelta(seconds=1))

    assert (await runtime.signup_purger.run_once()).expired == 1
    assert await runtime.pool.fetchval("SELECT count(*) FROM mail_outbox") == 0
    await mail_sink.start()
    assert await runtime.mail_sender.send_due() == 0
    assert mail_sink.messages == []


async def test_a_key_named_by_anything_else_is_not_destroyed(
    http: httpx.AsyncClient,
    runtime: Runtime,
    mail_sink: MailSink,
    publish_policy: Any,
    clock: MovableClock,
) -> None:
    await publish_policy()
    await Newsletter(http, runtime, mail_sink).subscribe(KARI)
    kari = await _requested(runtime, KARI)
    # Another stream's event under the same subject (consent never does this itself): its
    # key might seal consent evidence elsewhere, so it must survive.
    async with runtime.deps.unit_of_work() as conn:
        await EventStore().append(
            conn,
            stream_id=f"newsletter-{uuid4()}",
            expected_version=0,
            events=[
                contracts.ConsentGiven(
                    subscription_id=uuid4(),
                    subject_ref=kari["subject_ref"],
                    purpose="newsletter",
                    given_at=clock.now,
                    policy_version="2025-1",
                    wording_sha256="0" * 64,
                    wording_text="…",
                    method="web_form+double_opt_in",
                )
            ],
            metadata=EventMetadata.new(subject_ref=kari["subject_ref"], clock=clock),
        )
    clock.advance(TTL + GRACE + timedelta(seconds=1))

    assert await runtime.signup_purger.run_once() == PurgeOutcome(expired=1, keys_kept=1)
    assert (await _row(runtime, kari["subscription_id"]))["email"] is None
    assert (await _opened(runtime, kari))["email"] == KARI
    assert not await runtime.keyring.is_shredded(kari["subject_ref"])


async def test_the_served_service_purges_periodically(
    http: httpx.AsyncClient,
    runtime: Runtime,
    mail_sink: MailSink,
    publish_policy: Any,
    clock: MovableClock,
) -> None:
    assert background_workers(runtime)["newsletter-purge"] == runtime.signup_purger.run
    await publish_policy()
    flow = Newsletter(http, runtime, mail_sink)
    await flow.subscribe(KARI)
    kari = await _requested(runtime, KARI)
    purger = UnconfirmedSignupPurger(
        deps=runtime.deps, grace=GRACE, interval=timedelta(milliseconds=50)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(purger.run(stop))
    try:
        await flow.subscribe(OLA)  # runs beside the worker: nothing is due yet
        clock.advance(TTL + GRACE + timedelta(seconds=1))

        async def forgotten() -> bool:
            return await runtime.keyring.is_shredded(kari["subject_ref"])

        await poll(forgotten)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=DEADLINE_SECONDS)
    assert (await _row(runtime, kari["subscription_id"]))["email"] is None
