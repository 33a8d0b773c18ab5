"""R2 on the real processes of this session: what an ended customer's own data becomes.

Staff end two customers' contracts today, one with a bookkeeping claim, one with an
outstanding debt. At once, the organisations' contact details (phone, e-mail) are in no
database, topic or log of the session (`tests/pii_scan.py`): identity cleared its projection
and destroyed the key scope that encrypts them in OrganisationRegistered. The invoice e-mail
is still found, kept under its claim, and only in identity. When staff settle the debt, that
customer's invoice e-mail goes too, everywhere; the bookkeeping customer's stays (its
statutory clock runs five years). Before the end the scan finds everything, so it can fail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..identity_client import unique_email, unique_name, unique_phone
from ..mail_reader import MailReader
from ..pii_scan import DatabaseHit, Identifiers, ScanReport
from .privacy_story import PrivacyStory, eventually


def _databases_hit(report: ScanReport) -> set[str]:
    return {hit.database for hit in report.hits if isinstance(hit, DatabaseHit)}


async def _end(story: PrivacyStory, organisation_id: str, reason: str) -> dict[str, Any]:
    response = await story.identity.http.post(
        f"/organisations/{organisation_id}/end-contract",
        json={"ended_on": datetime.now(UTC).date().isoformat(), "retention_reasons": [reason]},
        headers=story.staff,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_ended_customer_keeps_only_what_its_claims_keep_and_loses_it_when_settled(
    privacy_story: PrivacyStory,
) -> None:
    # Own phone numbers: other tests' customers share the default one.
    bookkeeping = await privacy_story.identity.register_organisation(phone=unique_phone())
    indebted = await privacy_story.identity.register_organisation(phone=unique_phone())
    contact = {
        org["organisation_id"]: Identifiers(emails=(org["email"],), phones=(org["phone"],))
        for org in (bookkeeping, indebted)
    }
    invoice = {
        org["organisation_id"]: Identifiers(emails=(org["payment"]["invoice_email"],))
        for org in (bookkeeping, indebted)
    }
    for organisation_id in contact:
        assert (await privacy_story.scan_for(invoice[organisation_id])).of("database")
    for organisation_id, identifiers in contact.items():
        before = await privacy_story.scan_for(identifiers)
        assert before.of("database"), f"the scan must find {organisation_id} before the end"

    for org, reason in ((bookkeeping, "bookkeeping"), (indebted, "outstanding_debt")):
        ended = await _end(privacy_story, org["organisation_id"], reason)
        assert ended["contact_details_erased_on"] is not None
        assert ended["payment_information_erased_on"] is None

    # The contact details are gone from every database, topic and log.
    for organisation_id, identifiers in contact.items():
        report = await privacy_story.scan_for(identifiers)
        assert report.coverage.topics == len(privacy_story.platform.topics())
        assert report.coverage.records > 0
        assert report.hits == [], (organisation_id, report.hits)
    # The invoice e-mail is kept under its claim, in identity only (its projection).
    for organisation_id in contact:
        kept = await privacy_story.scan_for(invoice[organisation_id])
        identity_db = privacy_story.platform["identity"].database_url.rsplit("/", 1)[1]
        assert _databases_hit(kept) == {identity_db}, kept.hits

    settled = await privacy_story.identity.http.post(
        f"/organisations/{indebted['organisation_id']}/retention/outstanding_debt/settle",
        headers=privacy_story.staff,
    )
    assert settled.status_code == 200, settled.text
    assert settled.json()["payment_information_erased_on"] is not None
    gone = await privacy_story.scan_for(invoice[indebted["organisation_id"]])
    assert gone.hits == [], gone.hits
    still = await privacy_story.scan_for(invoice[bookkeeping["organisation_id"]])
    assert still.of("database")


async def test_the_contact_person_is_told_of_the_export_offer_by_mail(
    privacy_story: PrivacyStory,
) -> None:
    """Art. 28(3)(g) on the real processes: the customer's contact person (identity's
    ContactPersonAdded) gets the orchestrator's mail when the contract ends, with the offer's
    last day and the export's link, read from the platform's SMTP sink."""
    organisation = await privacy_story.identity.register_organisation(phone=unique_phone())
    organisation_id = organisation["organisation_id"]
    email = unique_email("kontakt")
    listed = await privacy_story.identity.http.post(
        f"/organisations/{organisation_id}/contact-persons",
        json={"name": unique_name("Kari"), "email": email, "phone": unique_phone()},
        headers=privacy_story.staff,
    )
    assert listed.status_code == 201, listed.text
    await _end(privacy_story, organisation_id, "bookkeeping")

    async def offered() -> dict[str, Any] | None:
        found = await privacy_story.orchestrator.get(
            f"/organisations/{organisation_id}/contract-end", headers=privacy_story.staff
        )
        return dict(found.json()) if found.status_code == 200 else None

    contract_end = await eventually(offered, what="the orchestrator records the contract end")
    mails = MailReader(privacy_story.platform.mail_sink.maildir)
    [mail] = await mails.wait_for(
        email, matching=lambda m: "last ned" in (m.message["Subject"] or "")
    )
    assert contract_end["offer_until"][:10] in mail.text
    assert f"/organisations/{organisation_id}/contract-end/export" in mail.text
