"""Cookie choices and the analytics they allow (R11).

Necessary cookies (login session, navigation) need no consent; analytics only with it. A
visitor is known by a random visitor id (a session cookie the server creates if the visitor
has none). The id itself is never stored: the visitor's pseudonym everywhere in consent and
on Kafka is ``visitor_ref``, a one-way hash of it, so a database or topic reader cannot act as
the visitor. Each choice is recorded with its evidence (time, policy version, banner wording
hash); a later choice supersedes it. An analytics event is accepted only when the visitor's
current choice includes analytics; otherwise it is dropped (counted, never stored).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from consent.domain.errors import ConsentError
from consent.domain.wording import Wording

VISITOR_ID: Final = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
EVENT_NAME: Final = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
MAX_PAGE_PATH: Final = 512


class InvalidVisitorId(ConsentError):
    """The visitor id is not one the server could have issued."""


class InvalidAnalyticsEvent(ConsentError):
    """The analytics event's name or page path is not acceptable."""


class NoCookieChoice(ConsentError):
    """The visitor has recorded no cookie choice."""


class DropReason(StrEnum):
    """Why an analytics event was dropped."""

    NO_CHOICE = "no_choice"
    ANALYTICS_DECLINED = "analytics_declined"


def new_visitor_id() -> str:
    """A fresh random visitor id (the cookie value)."""
    return secrets.token_urlsafe(24)


def visitor_ref(visitor_id: str) -> str:
    """The visitor's pseudonym: ``subj_`` + 32 hex of SHA-256 of the id (one-way)."""
    if not VISITOR_ID.fullmatch(visitor_id):
        raise InvalidVisitorId()
    return "subj_" + hashlib.sha256(f"visitor:{visitor_id}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CookieChoice:
    """A visitor's choice and its evidence. Necessary cookies are always on."""

    visitor_ref: str
    analytics: bool
    recorded_at: datetime
    policy_version: str
    wording_sha256: str

    @property
    def necessary(self) -> bool:
        return True


def record_choice(
    *, visitor_ref: str, analytics: bool, wording: Wording, shown_sha256: str, now: datetime
) -> CookieChoice:
    """A new choice, if the banner shown is the current one."""
    wording.require(shown_sha256)
    return CookieChoice(
        visitor_ref=visitor_ref,
        analytics=analytics,
        recorded_at=now,
        policy_version=wording.policy_version,
        wording_sha256=wording.sha256,
    )


def drop_reason(choice: CookieChoice | None) -> DropReason | None:
    """Why an analytics event of a visitor with ``choice`` must be dropped; None to accept."""
    if choice is None:
        return DropReason.NO_CHOICE
    if not choice.analytics:
        return DropReason.ANALYTICS_DECLINED
    return None


def clean_page_path(page_path: str) -> str:
    """The path without query string or fragment (they can carry personal data)."""
    path = page_path.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/") or len(path) > MAX_PAGE_PATH:
        raise InvalidAnalyticsEvent("page_path")
    return path


def check_event_name(name: str) -> str:
    if not EVENT_NAME.fullmatch(name):
        raise InvalidAnalyticsEvent("event_name")
    return name
