"""Issue 5's proof of a hold (R16, R21), end to end on the real processes of this session.

A learner with data in every service has an open complaint about their correspondence when
platform staff erase them:

- the erasure ends `partially_completed`: consent keeps exactly the correspondence the
  complaint holds (basis `open_complaint`), every other service and HeiHallo erase; the
  completion record lists the kept data with its basis and holds no personal data;
- when the complaint is resolved (`ComplaintResolved` on Kafka), the orchestrator files a
  follow-up erasure by itself: the held correspondence goes too, a second completion record
  says so, and then nothing names the person anywhere (`tests/pii_scan.py`);
- both records verify offline.

And when nobody files the erasure (the organisation revokes the licence of a person whose
complaint holds their course answers), the person is still told what was kept and why (R10),
by mail to their login e-mail: the orchestrator kept identity's token of it.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from ..mail_reader import MailReader
from .privacy_story import PrivacyStory, eventually


async def test_an_open_complaint_keeps_exactly_the_held_data_until_it_is_resolved(
    privacy_story: PrivacyStory, tmp_path: Path
) -> None:
    person = await privacy_story.learner_with_data()
    staff = privacy_story.staff
    complaint_id = await privacy_story.open_complaint(
        person, "Klage på hvordan henvendelsen ble besvart.", "correspondence"
    )

    first = await privacy_story.file("erasure", person.subject_ref)
    view = await privacy_story.ended(str(first["request_id"]))
    assert view["state"] == "partially_completed", view
    assert {item["state"] for item in view["sub_processors"]} == {"confirmed"}, view
    # consent kept the correspondence under the complaint; it is still there.
    items = await privacy_story.consent.get(
        "/correspondence", params={"subject_ref": person.subject_ref}, headers=staff
    )
    assert items.status_code == 200, items.text
    assert [item["correspondence_id"] for item in items.json()] == [person.correspondence_id]
    # It is kept readable (ciphertext at rest under its own key scope, as always).
    held = await privacy_story.consent.get(
        f"/correspondence/{person.correspondence_id}", headers=staff
    )
    assert held.status_code == 200, held.text
    assert person.member.name in held.text
    # Everything else is gone: no plain identifier anywhere, HeiHallo's record erased.
    assert await privacy_story.platform.simulator.held(person.subject_ref) is None
    after_first = await privacy_story.scan_everything(person)
    assert after_first.hits == [], after_first.hits
    # The record lists the kept data with its basis, and names nobody.
    export_text = (await privacy_story.exported_records()).decode()
    assert person.subject_ref not in export_text
    assert person.member.email not in export_text
    assert "open_complaint" in export_text

    # The complaint is resolved: the orchestrator erases what was held.
    complaint = await privacy_story.consent.get(f"/complaints/{complaint_id}", headers=staff)
    assert complaint.status_code == 200, complaint.text
    resolved = await privacy_story.consent.post(
        f"/complaints/{complaint_id}/resolution",
        json={"outcome": "rejected", "resolution_text": "Henvendelsen ble besvart korrekt."},
        headers={**staff, "If-Match": complaint.headers["etag"]},
    )
    assert resolved.status_code == 200, resolved.text

    second = await privacy_story.erasure_besides(person.subject_ref, first["request_id"])
    assert second["requested_by_role"] == "automatic"
    second_view = await privacy_story.ended(str(second["request_id"]))
    assert second_view["state"] == "completed", second_view

    items = await privacy_story.consent.get(
        "/correspondence", params={"subject_ref": person.subject_ref}, headers=staff
    )
    assert items.status_code == 200, items.text
    assert items.json() == []
    gone = await privacy_story.consent.get(
        f"/correspondence/{person.correspondence_id}", headers=staff
    )
    assert gone.status_code == 404, gone.text
    final = await privacy_story.scan_everything(person)
    assert final.hits == [], final.hits
    status, output = await privacy_story.verify_records(tmp_path)
    assert status == 0, output


async def test_an_automatic_erasure_under_a_hold_tells_the_person_by_mail(
    privacy_story: PrivacyStory,
) -> None:
    person = await privacy_story.learner_with_data()
    await privacy_story.open_complaint(
        person, "Klage på vurderingen av kurssvarene.", "course_answers"
    )

    async def held() -> bool | None:
        # No API lists holds: the orchestrator's own table says when ComplaintOpened is in.
        conn = await asyncpg.connect(privacy_story.platform["privacy-orchestrator"].database_url)
        try:
            count = await conn.fetchval(
                "SELECT count(*) FROM legal_holds WHERE subject_ref = $1", person.subject_ref
            )
        finally:
            await conn.close()
        return True if count else None

    await eventually(held, what="the orchestrator places the complaint's hold")
    revoked = await privacy_story.identity.http.delete(
        f"/users/{person.member.user_id}/licences/{person.licence_id}",
        headers=person.admin.headers,
    )
    assert revoked.status_code == 204, revoked.text

    request = await privacy_story.erasure_besides(person.subject_ref)
    assert request["trigger"] == "licence_revoked"
    view = await privacy_story.ended(str(request["request_id"]))
    assert view["state"] == "partially_completed", view

    mails = MailReader(privacy_story.platform.mail_sink.maildir)
    [mail] = await mails.wait_for(
        person.member.email,
        matching=lambda m: "beholdt" in (m.message["Subject"] or ""),
    )
    assert "open_complaint" in mail.text  # why, by code and in words
    for absent in (person.subject_ref, person.member.name, person.member.phone or "\0"):
        assert absent not in mail.text  # never the data
