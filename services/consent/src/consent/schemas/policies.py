"""HTTP models of privacy-policy versions (R20)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from consent.schemas._base import _Request, _Response

VersionLabel = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$")
]
PolicyText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200_000)
]


class PolicyBase(_Request):
    version: VersionLabel = Field(description="A short label, e.g. 2025-1; never reused.")
    effective_on: date = Field(description="The day it takes effect (today or later).")


class PolicyCreate(PolicyBase):
    multiline_fields = frozenset({"text"})

    text: PolicyText = Field(description="The full text of the policy (plain text/Markdown).")


class PolicySummary(_Response):
    version: str
    text_sha256: str
    effective_on: date
    published_at: datetime


class PolicyRead(PolicySummary):
    text: str
