"""HTTP model of a consent wording (newsletter R8, cookie banner R11)."""

from __future__ import annotations

from consent.schemas._base import _Response


class WordingRead(_Response):
    """A consent text to show as is, the policy version it names, and the hash to send back."""

    text: str
    sha256: str
    policy_version: str
