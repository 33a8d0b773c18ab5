"""HTTP models of cookie choices (R11) and the analytics intake."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from consent.schemas._base import Sha256Hex, _Request, _Response

VisitorId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{22,64}$")]


class CookieChoiceBase(_Request):
    necessary: Literal[True] = Field(
        default=True, description="Necessary cookies need no consent and are always on."
    )
    analytics: bool = Field(description="Whether analytics cookies and statistics are allowed.")


class CookieChoiceCreate(CookieChoiceBase):
    visitor_id: VisitorId | None = Field(
        default=None,
        description="The visitor id from an earlier answer; else the byggrygg_visitor cookie "
        "is used, else a new id is made.",
    )
    wording_sha256: Sha256Hex = Field(
        description="The sha256 of the banner wording shown (GET /cookies/wording)."
    )


class CookieChoiceRead(_Response):
    visitor_id: str
    necessary: bool
    analytics: bool
    policy_version: str
    wording_sha256: str
    recorded_at: datetime


class AnalyticsEventCreate(_Request):
    visitor_id: VisitorId | None = Field(
        default=None, description="Else the byggrygg_visitor cookie."
    )
    event_name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
    page_path: Annotated[str, StringConstraints(min_length=1, max_length=2048)] = Field(
        description="The page's path; a query string or fragment is cut off, never stored."
    )


class IntakeRead(_Response):
    stored: bool = Field(description="false: dropped (the visitor has not allowed analytics).")


class DropCountRead(_Response):
    day: date
    reason: str
    dropped: int


class EventCountRead(_Response):
    day: date
    event_kind: str
    page_path: str
    events: int
