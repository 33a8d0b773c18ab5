"""Issue 5's proof of access (R14, R17), end to end on the real processes of this session.

A learner with data in every service (profile, answers with a free text, a correspondence,
a record at HeiHallo) asks for their data through the portal, logged in as themself. The
request is approved at once (R17); every participant and HeiHallo return their part; the
orchestrator assembles one JSON file and an HTML view of it:

- the file holds everything about the person: identity's profile, courses' answers (the free
  text in clear), consent's correspondence, HeiHallo's record;
- it holds nothing about anyone else: another learner of the same organisation, with data in
  the same places, appears nowhere in it;
- only the person downloads it: the other learner, the organisation's administrator and
  platform staff get 404 (its existence is not disclosed either);
- the HTML view is the same data, escaped, under a Content-Security-Policy that lets nothing
  load or run.
"""

from __future__ import annotations

import json

from .privacy_story import PrivacyStory


async def test_an_access_request_returns_everything_about_the_person_and_nothing_else(
    privacy_story: PrivacyStory,
) -> None:
    person = await privacy_story.learner_with_data()
    other = await privacy_story.learner_with_data()
    me = person.member.headers

    filed = await privacy_story.orchestrator.post("/requests", json={"kind": "access"}, headers=me)
    assert filed.status_code == 201, filed.text
    assert filed.json()["subject_ref"] == person.subject_ref
    assert filed.json()["requested_by_role"] == "data_subject"
    request_id = filed.json()["request_id"]
    view = await privacy_story.ended(request_id)
    assert view["state"] == "completed", view
    assert {item["state"] for item in view["sub_processors"]} == {"confirmed"}, view

    download = await privacy_story.orchestrator.get(f"/requests/{request_id}/export", headers=me)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("application/json")
    assert "attachment" in download.headers["content-disposition"]
    document = download.json()
    text = download.text
    # Everything about the person, from every service and from HeiHallo.
    assert document["subject_ref"] == person.subject_ref
    assert {"identity", "courses", "consent"} <= set(document["services"])
    assert document["sub_processors"], document
    for identifier in (person.member.name, person.member.email, person.member.user_id):
        assert identifier in text, identifier
    assert person.enrolment_id in text
    assert f"Hilsen {person.member.name}" in text  # the free-text answer, in clear
    assert "Spørsmål om kurset" in text  # the correspondence
    assert person.member.phone in json.dumps(document["sub_processors"])  # HeiHallo's record
    # Nothing about anyone else.
    for identifier in (
        other.member.name,
        other.member.email,
        other.member.phone,
        other.member.user_id,
        other.subject_ref,
        other.enrolment_id,
        other.correspondence_id,
        person.admin.email,
    ):
        assert identifier not in text, "the export names someone else"

    # The same data as a page: escaped, nothing may load or run.
    page = await privacy_story.orchestrator.get(f"/requests/{request_id}/export.html", headers=me)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.text.lower()
    assert person.member.email in page.text

    # Only the person: the other learner, the administrator and staff get 404.
    for who in (other.member.headers, person.admin.headers, privacy_story.staff):
        for path in (f"/requests/{request_id}/export", f"/requests/{request_id}/export.html"):
            refused = await privacy_story.orchestrator.get(path, headers=who)
            assert refused.status_code == 404, f"{path}: {refused.status_code}"
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert person.member.email not in refused.text
