"""A legal dispute left open at a contract end (R2, R9), end to end on the real processes.

A learner with data in every service belongs to a customer whose contract staff end with a
legal dispute open. Erasing the learner then keeps exactly their correspondence in consent
(the dispute may need it as evidence), says so in the request, and erases everything else.
When staff settle the dispute in identity (`RetentionClaimSettled`), consent lets go of the
correspondence and publishes `LegalClaimResolved`; the orchestrator files the follow-up
erasure by itself (trigger `legal_claim_resolved`), the correspondence goes too, nothing names
the person anywhere (`tests/pii_scan.py`), and the records verify offline.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .privacy_story import PrivacyStory, eventually


async def test_a_settled_dispute_erases_the_correspondence_it_kept(
    privacy_story: PrivacyStory, tmp_path: Path
) -> None:
    person = await privacy_story.learner_with_data()
    staff = privacy_story.staff
    ended = await privacy_story.identity.http.post(
        f"/organisations/{person.organisation_id}/end-contract",
        json={
            "ended_on": datetime.now(UTC).date().isoformat(),
            "retention_reasons": ["legal_dispute"],
        },
        headers=staff,
    )
    assert ended.status_code == 200, ended.text

    async def dated() -> dict[str, Any] | None:
        item = await privacy_story.consent.get(
            f"/correspondence/{person.correspondence_id}", headers=staff
        )
        assert item.status_code == 200, item.text
        body: dict[str, Any] = item.json()
        return body if body["contract_ended_on"] else None

    await eventually(dated, what="consent learns of the contract end")

    filed = await privacy_story.orchestrator.post(
        "/requests",
        json={
            "kind": "erasure",
            "subject_ref": person.subject_ref,
            "organisation_id": person.organisation_id,
        },
        headers=staff,
    )
    assert filed.status_code == 201, filed.text
    first = filed.json()["request_id"]
    view = await privacy_story.ended(first)
    assert view["state"] == "partially_completed", view
    held = await privacy_story.consent.get(
        f"/correspondence/{person.correspondence_id}", headers=staff
    )
    assert held.status_code == 200, held.text
    assert person.member.name in held.text
    assert "legal_claim" in (await privacy_story.exported_records()).decode()

    settled = await privacy_story.identity.http.post(
        f"/organisations/{person.organisation_id}/retention/legal_dispute/settle",
        headers=staff,
    )
    assert settled.status_code == 200, settled.text

    second = await privacy_story.erasure_besides(person.subject_ref, first)
    assert (second["requested_by_role"], second["trigger"]) == (
        "automatic",
        "legal_claim_resolved",
    )
    second_view = await privacy_story.ended(str(second["request_id"]))
    assert second_view["state"] == "completed", second_view
    gone = await privacy_story.consent.get(
        f"/correspondence/{person.correspondence_id}", headers=staff
    )
    assert gone.status_code == 404, gone.text
    final = await privacy_story.scan_everything(person)
    assert final.hits == [], final.hits
    status, output = await privacy_story.verify_records(tmp_path)
    assert status == 0, output
