"""The kept-data notice's text (R10): plain words for the data and the basis, the date, and
never a location's table or column name."""

from __future__ import annotations

from datetime import date

import pytest

from privacy_orchestrator.service_layer.notices import (
    KeptItem,
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
