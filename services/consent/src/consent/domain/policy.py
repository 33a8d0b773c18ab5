"""Privacy-policy versions (R20): published by platform staff, immutable, the current one public.

A version has a label (e.g. ``2025-1``), its text and the date it takes effect. The current
version on a day is the one with the latest effective date not after that day (ties: the one
published last). A version cannot take effect in the past: consents already recorded under
the then-current version must stay true.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from consent.domain.errors import ConsentError

VERSION_LABEL: Final = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$")
# Path segments of /policies that cannot be version labels.
RESERVED_LABELS: Final = frozenset({"current"})


class InvalidPolicyVersion(ConsentError):
    """The version label is not a short plain label, or is reserved."""


class PolicyVersionExists(ConsentError):
    """A version with this label was already published (versions are immutable)."""


class PolicyVersionNotFound(ConsentError):
    """No published version has this label."""


class NoCurrentPolicy(ConsentError):
    """No published version is in effect yet."""


class RetroactivePolicy(ConsentError):
    """The version would take effect before today."""


def text_sha256(text: str) -> str:
    """The SHA-256 (hex) of a text's UTF-8 bytes: how evidence names the exact text shown."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PolicyVersion:
    """One published version of the privacy policy."""

    version: str
    text: str
    text_sha256: str
    effective_on: date
    published_at: datetime
    published_by: str


def publish(
    *, version: str, text: str, effective_on: date, now: datetime, published_by: str
) -> PolicyVersion:
    """A new version, if its label and date are acceptable (uniqueness is the store's job)."""
    if not VERSION_LABEL.fullmatch(version) or version.lower() in RESERVED_LABELS:
        raise InvalidPolicyVersion(version)
    if effective_on < now.date():
        raise RetroactivePolicy(version)
    return PolicyVersion(
        version=version,
        text=text,
        text_sha256=text_sha256(text),
        effective_on=effective_on,
        published_at=now,
        published_by=published_by,
    )


def current_of(versions: Iterable[PolicyVersion], *, today: date) -> PolicyVersion | None:
    """The version in effect on ``today``, or None if none is yet."""
    in_effect = [v for v in versions if v.effective_on <= today]
    if not in_effect:
        return None
    return max(in_effect, key=lambda v: (v.effective_on, v.published_at))
