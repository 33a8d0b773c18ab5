"""Which keys and values count as personal data for logs and error documents."""

from dataclasses import dataclass

import pytest

from byggrygg_shared.redaction import REDACTED, is_personal_key, redact, scrub_text


@pytest.mark.parametrize(
    "key",
    [
        "email",
        "userEmail",
        "e-mail",
        "first_name",
        "lastName",
        "name",
        "phone_number",
        "password",
        "new_password",
        "access_token",
        "Authorization",
        "home_address",
        "ip",
        "birth_date",
        "personnummer",
    ],
)
def test_personal_keys(key: str) -> None:
    assert is_personal_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "subject_ref",
        "user_id",
        "organisation_id",
        "service",
        "topic_name",
        "event_type",
        "status",
        "route",
        "count",
        "correlation_id",
    ],
)
def test_pseudonymous_and_technical_keys_pass(key: str) -> None:
    assert not is_personal_key(key)


def test_text_is_scrubbed_of_emails_and_jwts() -> None:
    token = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"
    text = f"mail kari@example.no and Bearer {token} please"

    assert scrub_text(text) == "mail [redacted-email] and Bearer [redacted-token] please"


@dataclass
class Contact:
    subject_ref: str
    phone: str


def test_redact_walks_structures() -> None:
    value = {
        "user": {"email": "x@y.no", "subject_ref": "subj_1"},
        "items": [Contact("subj_2", "+47 1234"), ("a@b.no", 3)],
        "ok": True,
    }

    assert redact(value) == {
        "user": {"email": REDACTED, "subject_ref": "subj_1"},
        "items": [{"subject_ref": "subj_2", "phone": REDACTED}, ["[redacted-email]", 3]],
        "ok": True,
    }
