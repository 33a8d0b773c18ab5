"""The kept-data notice's text (R10): plain words for the data and the basis, the date, and
never a location's table or column name."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from privacy_orchestrator.service_layer.notices import (
    KeptItem,
    export_text,
    extension_text,
    notice_text,
    plain_basis,
    plain_data,
)


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ("column correspondence_items.email_address", "korrespondanse"),
        ("event field no.byggrygg.correspondence.EmailMessageRecorded.message_text", "meldinger"),
        ("column complaints.summary", "klager"),
        ("column something_new.field", "andre opplysninger"),
        ("sub-processor records", "andre opplysninger"),
    ],
)
def test_locations_are_named_in_plain_words(location: str, words: str) -> None:
    assert words in plain_data(location)


def test_the_basis_code_is_kept_and_explained() -> None:
    assert plain_basis("open_complaint: kept until the complaint is resolved (R21)") == (
        "open_complaint",
        "du har en klage hos oss som ikke er ferdig behandlet",
    )
    code, why = plain_basis("some_new_basis")
    assert code == "some_new_basis"
    assert why


def test_the_text_names_what_why_and_until_when_once_per_kind() -> None:
    item = KeptItem(
        participant="consent",
        location="column correspondence_items.email_address",
        basis="open_complaint (hold 1)",
        keep_until=date(2027, 6, 30),
    )
    text = notice_text([item, item])
    assert text.count("grunnlag: open_complaint") == 1
    assert "til og med 2027-06-30" in text
    assert "correspondence_items" not in text
    assert "email_address" not in text


# --- a deadline extension and a ready access export (R10, R14) ---


def test_the_extension_mail_gives_the_new_date_and_why_in_words() -> None:
    text = extension_text(date(2027, 3, 31), "complexity")
    assert "2027-03-31" in text
    assert "sammensatt" in text
    assert "complexity" not in text  # the code is for the record, words for the person
    assert "mange forespørsler" in extension_text(date(2027, 3, 31), "number_of_requests")


def test_the_export_mail_gives_the_link_and_the_last_day_only() -> None:
    link = "https://byggrygg.example/api/privacy-orchestrator/requests/1/export"
    text = export_text(link, datetime(2027, 1, 8, 12, 0, tzinfo=UTC))
    assert link in text
    assert "2027-01-08" in text
    assert "begrenset tid" in export_text(link, None)
