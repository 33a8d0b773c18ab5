"""R2's clocks on an ended customer's own data, on real PostgreSQL and the key ring, through
identity's API and its retention worker: the contact details go when the contract ends (in
the projection, and in every copy of OrganisationRegistered, whose key scope is destroyed);
the payment information stays while a claim keeps it and goes when the bookkeeping date
passes or staff settle a debt; refusals are problems that change nothing."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from byggrygg_shared.keyring import ERASED
from identity.bootstrap import Runtime
from identity.service_layer.organisation_retention import OrganisationRetentionWorker

from ....service_testing import MovableClock, assert_problem
from .support import ORG_NUMBERS, STAFF_EMAIL, Flow, snapshot

CONTACT_VALUES = ("+47 22 33 44 55", "post@hansen.example.no", "Storgata 1", "0155", "Oslo")
PAYMENT_VALUES = ("faktura@hansen.example.no", "P-17")


async def end(flow: Flow, organisation_id: str, ended_on: date, *reasons: str) -> dict[str, Any]:
    response = await flow.http.post(
        f"/organisations/{organisation_id}/end-contract",
        json={"ended_on": ended_on.isoformat(), "retention_reasons": list(reasons)},
        headers=flow.staff,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def read(flow: Flow, organisation_id: str) -> dict[str, Any]:
    response = await flow.http.get(f"/organisations/{organisation_id}", headers=flow.staff)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def registered_fields(runtime: Runtime, organisation_id: str) -> dict[str, object]:
    """The personal fields of the stored OrganisationRegistered, as the key ring opens them."""
    row = await runtime.pool.fetchrow(
        "SELECT payload::text AS payload FROM events WHERE stream_id = $1 AND version = 1",
        f"organisation-{organisation_id}",
    )
    payload = json.loads(row["payload"])
    opened: dict[str, object] = {}
    for name, scope in (
        ("phone", "data_key_ref"),
        ("email", "data_key_ref"),
        ("street_address", "data_key_ref"),
        ("invoice_email", "billing_key_ref"),
        ("billing_reference", "billing_key_ref"),
    ):
        opened[name] = await runtime.keyring.decrypt(payload[scope], payload[name])
    return opened


async def stored_types(runtime: Runtime, organisation_id: str) -> list[str]:
    rows = await runtime.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version",
        f"organisation-{organisation_id}",
    )
    return [row["event_type"].rsplit(".", 1)[1] for row in rows]


async def move(flow: Flow, clock: MovableClock, delta: timedelta) -> None:
    """Time passes; staff log in again (their token expired meanwhile)."""
    clock.advance(delta)
    flow.staff_token = await flow.log_in(STAFF_EMAIL)


def worker(runtime: Runtime) -> OrganisationRetentionWorker:
    return OrganisationRetentionWorker(deps=runtime.deps, interval=timedelta(hours=1))


async def test_without_a_claim_everything_goes_when_the_contract_ends(
    flow: Flow, runtime: Runtime, clock: MovableClock
) -> None:
    organisation_id = (await flow.register())["organisation_id"]
    today = clock().date()
    ended = await end(flow, organisation_id, today)

    assert ended["contact_details_erased_on"] == today.isoformat()
    assert ended["payment_information_erased_on"] == today.isoformat()
    assert ended["name"] == "Byggmester Hansen AS"  # the legal entity, not personal data
    assert ended["organisation_number"] == ORG_NUMBERS[0]
    for value in (ended["phone"], ended["email"], *ended["postal_address"].values()):
        assert value in (str(ERASED), "NO")  # the country code is not personal
    assert ended["payment"] == {"invoice_email": str(ERASED), "billing_reference": None}
    text = json.dumps(await read(flow, organisation_id))
    for value in CONTACT_VALUES + PAYMENT_VALUES:
        assert value not in text
    # Every copy of the registration event: its fields read as erased, the key scopes are gone.
    assert set((await registered_fields(runtime, organisation_id)).values()) == {ERASED}
    assert (await stored_types(runtime, organisation_id))[-3:] == [
        "ContractEnded",
        "OrganisationDataErased",
        "OrganisationDataErased",
    ]


async def test_bookkeeping_keeps_payment_information_until_its_date_then_the_worker_erases_it(
    flow: Flow, runtime: Runtime, clock: MovableClock
) -> None:
    organisation_id = (await flow.register())["organisation_id"]
    other_id = (await flow.register(ORG_NUMBERS[1]))["organisation_id"]  # a customer still
    today = clock().date()
    ended = await end(flow, organisation_id, today, "bookkeeping")
    assert ended["contact_details_erased_on"] == today.isoformat()
    assert ended["payment_information_erased_on"] is None
    assert ended["payment"] == {
        "invoice_email": "faktura@hansen.example.no",
        "billing_reference": "P-17",
    }
    fields = await registered_fields(runtime, organisation_id)
    assert fields["phone"] is ERASED
    assert fields["invoice_email"] == "faktura@hansen.example.no"

    keep_until = date.fromisoformat(ended["retention"][0]["keep_until"])
    await move(flow, clock, timedelta(days=(keep_until - today).days - 1))  # the day before
    assert (await worker(runtime).run_once()).payment_information == 0
    assert (await read(flow, organisation_id))["payment_information_erased_on"] is None

    await move(flow, clock, timedelta(days=1))
    result = await worker(runtime).run_once()
    assert (result.contact_details, result.payment_information) == (0, 1)
    after = await read(flow, organisation_id)
    assert after["payment_information_erased_on"] == keep_until.isoformat()
    assert after["payment"] == {"invoice_email": str(ERASED), "billing_reference": None}
    assert (await registered_fields(runtime, organisation_id))["invoice_email"] is ERASED
    # The customer that is still a customer keeps everything.
    untouched = await read(flow, other_id)
    assert untouched["email"] == "post@hansen.example.no"
    assert (await registered_fields(runtime, other_id))["invoice_email"] != ERASED
    # Run again: nothing more to do, nothing appended.
    before = await stored_types(runtime, organisation_id)
    assert await worker(runtime).run_once() == type(result)()
    assert await stored_types(runtime, organisation_id) == before


async def test_a_contract_ended_ahead_keeps_its_contact_details_until_the_end_date(
    flow: Flow, runtime: Runtime, clock: MovableClock
) -> None:
    organisation_id = (await flow.register())["organisation_id"]
    ends_on = clock().date() + timedelta(days=10)
    ended = await end(flow, organisation_id, ends_on)
    assert ended["contact_details_erased_on"] is None
    assert ended["email"] == "post@hansen.example.no"
    await move(flow, clock, timedelta(days=10))
    result = await worker(runtime).run_once()
    assert (result.contact_details, result.payment_information) == (1, 1)
    assert (await read(flow, organisation_id))["email"] == str(ERASED)


async def test_a_debt_keeps_payment_information_until_staff_settle_it(
    flow: Flow, runtime: Runtime, clock: MovableClock
) -> None:
    organisation_id = (await flow.register())["organisation_id"]
    await end(flow, organisation_id, clock().date(), "outstanding_debt")
    await move(flow, clock, timedelta(days=20 * 366))  # no date ends a debt
    await worker(runtime).run_once()
    assert (await read(flow, organisation_id))["payment_information_erased_on"] is None

    response = await flow.http.post(
        f"/organisations/{organisation_id}/retention/outstanding_debt/settle", headers=flow.staff
    )
    assert response.status_code == 200, response.text
    settled = response.json()
    assert settled["retention"] == [
        {"reason": "outstanding_debt", "keep_until": None, "settled_on": clock().date().isoformat()}
    ]
    assert settled["payment_information_erased_on"] == clock().date().isoformat()
    assert settled["payment"]["invoice_email"] == str(ERASED)
    assert (await stored_types(runtime, organisation_id))[-2:] == [
        "RetentionClaimSettled",
        "OrganisationDataErased",
    ]


@pytest.mark.parametrize(
    ("reasons", "settle", "status", "problem_type"),
    [
        ((), "outstanding_debt", 404, "retention-claim-not-found"),
        (("bookkeeping",), "bookkeeping", 409, "retention-claim-not-settleable"),
        (None, "legal_dispute", 409, "contract-not-ended"),
        (("legal_dispute",), "not_a_reason", 422, "validation-failed"),
    ],
)
async def test_a_settlement_that_does_not_fit_is_refused_and_writes_nothing(
    flow: Flow,
    runtime: Runtime,
    clock: MovableClock,
    reasons: tuple[str, ...] | None,
    settle: str,
    status: int,
    problem_type: str,
) -> None:
    organisation_id = (await flow.register())["organisation_id"]
    if reasons is not None:
        await end(flow, organisation_id, clock().date() + timedelta(days=30), *reasons)
    before = await snapshot(runtime.pool)
    response = await flow.http.post(
        f"/organisations/{organisation_id}/retention/{settle}/settle", headers=flow.staff
    )
    problem = assert_problem(response, status)
    assert problem["type"].endswith(problem_type), problem
    assert await snapshot(runtime.pool) == before


async def test_only_staff_settle_and_an_unknown_organisation_is_404(
    flow: Flow, runtime: Runtime, clock: MovableClock
) -> None:
    organisation = await flow.register()
    organisation_id = organisation["organisation_id"]
    admin = await flow.admin(organisation_id, "ola@hansen.example.no")
    await end(flow, organisation_id, clock().date() + timedelta(days=30), "legal_dispute")
    before = await snapshot(runtime.pool)
    refused = await flow.http.post(
        f"/organisations/{organisation_id}/retention/legal_dispute/settle", headers=admin.headers
    )
    assert_problem(refused, 401 if refused.status_code == 401 else 403)
    assert_problem(
        await flow.http.post(
            f"/organisations/{uuid.uuid4()}/retention/legal_dispute/settle", headers=flow.staff
        ),
        404,
    )
    assert await snapshot(runtime.pool) == before
