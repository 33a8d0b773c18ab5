"""Regressions found by tests/security through the real process: a policy label holding a NUL
and an If-Match that only looks numeric were a 500; they are 4xx problems that write nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from consent.bootstrap import Runtime

from ....service_testing import assert_problem
from .support import snapshot


@pytest.mark.parametrize("label", ["%00", "2025-1%00", "2025-1%0A", "x" * 41, "%C3%A6"])
async def test_a_policy_label_no_version_can_have_is_404_not_500(
    http: httpx.AsyncClient, publish_policy: Any, label: str
) -> None:
    await publish_policy("2025-1")
    assert_problem(await http.get(f"/policies/{label}"), 404)


@pytest.mark.parametrize("if_match", [b'"\xb2"', b"\xb9", b'"' + b"9" * 5000 + b'"'])
async def test_an_if_match_that_only_looks_numeric_is_400_and_writes_nothing(
    http: httpx.AsyncClient, staff: dict[str, str], runtime: Runtime, if_match: bytes
) -> None:
    logged = await http.post(
        "/correspondence/phone",
        json={
            "organisation_id": "0b6f2f38-52a4-4a8e-9d2e-4c1a9b0f5e11",
            "phone_number": "+47 900 00 000",
            "person_name": "Kari Nordmann",
            "summary": "Ringte om faktura.",
            "contacted_at": "2025-01-01T10:00:00Z",
        },
        headers=staff,
    )
    assert logged.status_code == 201, logged.text
    opened = await http.post(
        "/complaints",
        json={
            "kind": "complaint",
            "subject_ref": logged.json()["subject_ref"],
            "summary": "Klage.",
            "concerns": ["correspondence"],
        },
        headers=staff,
    )
    assert opened.status_code == 201, opened.text
    before = await snapshot(runtime.pool)
    # Raw header bytes, decoded by the server as latin-1 ("\xb2" is "²", which isdigit()).
    headers = [(b"authorization", staff["Authorization"].encode()), (b"if-match", if_match)]
    message = {
        "direction": "inbound",
        "sent_at": "2025-01-02T10:00:00Z",
        "subject": "Svar",
        "text": "Takk.",
    }
    correspondence_id = logged.json()["correspondence_id"]
    complaint_id = opened.json()["complaint_id"]
    for response in (
        await http.post(
            f"/correspondence/{correspondence_id}/messages", json=message, headers=headers
        ),
        await http.post(
            f"/complaints/{complaint_id}/resolution",
            json={"outcome": "rejected", "resolution_text": "Avvist."},
            headers=headers,
        ),
    ):
        assert_problem(response, 400)
    assert await snapshot(runtime.pool) == before


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_a_time_without_a_utc_value_is_422_and_leaves_no_key_behind(
    http: httpx.AsyncClient, staff: dict[str, str], runtime: Runtime, moment: str
) -> None:
    """Was a 500 from PostgreSQL after the key ring had already made the item's key."""
    organisation_id = "0b6f2f38-52a4-4a8e-9d2e-4c1a9b0f5e11"
    message = {"direction": "inbound", "sent_at": moment, "subject": "Emne", "text": "Tekst."}
    before = await snapshot(runtime.pool)
    for url, body in (
        (
            "/correspondence/phone",
            {
                "organisation_id": organisation_id,
                "phone_number": "+47 900 00 000",
                "person_name": "Kari Nordmann",
                "summary": "Ringte.",
                "contacted_at": moment,
            },
        ),
        (
            "/correspondence/email",
            {
                "organisation_id": organisation_id,
                "email_address": "kari@example.no",
                "messages": [message],
            },
        ),
    ):
        assert_problem(await http.post(url, json=body, headers=staff), 422)
    assert await snapshot(runtime.pool) == before
