"""The bases of every HTTP model of consent.

Request models forbid unknown fields (a typo is a 422, not silently ignored) and refuse
control characters and absurd dates and times in every field at once.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated, ClassVar, Final

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationInfo, field_validator

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

# Dates a request may carry: far-future dates are a 422, not a 500 from date arithmetic.
EARLIEST_DATE: Final = date(1900, 1, 1)
LATEST_DATE: Final = date(2999, 12, 31)


# Line breaks and tabs, which multi-line text may hold (removed before the check).
_LINE_LAYOUT: Final = str.maketrans("", "", "\n\r\t")


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in value)


class _Request(BaseModel):
    """Every request model: unknown fields, control characters and absurd dates are refused.

    Control characters (NUL above all, which PostgreSQL cannot store) have no place in names,
    addresses or identifiers; refusing them here keeps them from ever reaching the database as
    a 500. Models with multi-line text (a policy, a summary) allow line breaks and tabs in
    the fields they list in ``multiline_fields``.
    """

    model_config = ConfigDict(extra="forbid")

    multiline_fields: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text_and_sane_dates(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            checked = value
            if info.field_name in cls.multiline_fields:
                checked = value.translate(_LINE_LAYOUT)
            if _has_control_characters(checked):
                raise ValueError("must not contain control characters")
        if type(value) is date and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
        # A time at the calendar's edge with an offset (0001-01-01T00:00+14:00) has no UTC
        # value: storing it was a 500 (after the key ring had made a key for it).
        if isinstance(value, datetime) and not EARLIEST_DATE <= value.date() <= LATEST_DATE:
            raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
        return value


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)
