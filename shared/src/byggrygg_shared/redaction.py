"""Recognises personal data in log records and error documents and replaces it.

Two nets, because either alone leaks (R-privacy, DESIGN §6 "never logs personal data"):

- by key: a value stored under a key that names personal data (``email``, ``first_name``,
  ``phone``, ``password``, ``token``, ``address``...) is replaced whatever it looks like;
- by value: any text that looks like an e-mail address or a bearer token (JWT) is replaced
  even when it hides in a free-text message or under an innocent key.

Pseudonymous ids (``subject_ref``, ``user_id``, organisation ids) are not personal data in
this sense and pass through: they are what logs should carry instead.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Final

from pydantic import BaseModel

REDACTED: Final = "[redacted]"
REDACTED_EMAIL: Final = "[redacted-email]"
REDACTED_TOKEN: Final = "[redacted-token]"  # noqa: S105 (a placeholder, not a secret)

# A key containing any of these fragments carries personal data or a secret.
_PERSONAL_KEY_FRAGMENTS: Final = (
    "email",
    "e_mail",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "authorization",
    "cookie",
    "phone",
    "mobile",
    "address",
    "birth",
    "personnummer",
    "national_id",
    "ssn",
    "iban",
    "account_number",
)
# Keys that are personal only when they are exactly this (``name`` alone is a person's name,
# ``service_name`` or ``topic_name`` are not).
_PERSONAL_EXACT_KEYS: Final = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "full_name",
        "display_name",
        "given_name",
        "family_name",
        "middle_name",
        "surname",
        "username",
        "user_name",
        "login",
        "dob",
        "ip",
        "street",
        "postal_code",
        "zip_code",
        "city",
    }
)

_EMAIL: Final = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_JWT: Final = re.compile(r"eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")
_CAMEL_BOUNDARY: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS: Final = re.compile(r"[\s\-.]+")
# Nested structures deeper than this are replaced wholesale instead of walked.
_MAX_DEPTH: Final = 8


def normalise_key(key: str) -> str:
    """``firstName``, ``First-Name`` and ``first name`` all become ``first_name``."""
    return _SEPARATORS.sub("_", _CAMEL_BOUNDARY.sub("_", key)).lower()


def is_personal_key(key: str) -> bool:
    """True when a value under `key` must be treated as personal data or a secret."""
    normalised = normalise_key(key)
    if normalised in _PERSONAL_EXACT_KEYS:
        return True
    return any(fragment in normalised for fragment in _PERSONAL_KEY_FRAGMENTS)


def scrub_text(text: str) -> str:
    """Replace e-mail addresses and JWTs inside free text."""
    return _EMAIL.sub(REDACTED_EMAIL, _JWT.sub(REDACTED_TOKEN, text))


def redact(value: object, *, _depth: int = 0) -> object:
    """A JSON-friendly copy of `value` with personal keys redacted and text scrubbed.

    Mappings, sequences, pydantic models and dataclasses are walked (so a model's ``email``
    field is caught by its key); numbers, booleans and None pass; anything else is rendered
    with ``str`` and scrubbed, because its text is what would reach the log.
    """
    if _depth > _MAX_DEPTH:
        return REDACTED
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, BaseModel):
        return redact(value.model_dump(mode="json"), _depth=_depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return redact(dataclasses.asdict(value), _depth=_depth + 1)
    if isinstance(value, Mapping):
        return {
            str(key): (REDACTED if is_personal_key(str(key)) else redact(item, _depth=_depth + 1))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item, _depth=_depth + 1) for item in value]
    return scrub_text(str(value))
