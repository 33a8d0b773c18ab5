"""Where handlers get the time and new identifiers from: injectable, so tests control both.

`Clock` and `utc_now` give the time; `IdSource` is what handlers ask for new ids, pseudonymous
subject refs and secrets, and `RandomIds` answers from the operating system's randomness.
A service's ``bootstrap`` passes the real ones into its ``Dependencies``; tests may pass others.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock: now, in UTC."""
    return datetime.now(UTC)


class IdSource(Protocol):
    """Where new identifiers and secrets come from."""

    def new_id(self) -> UUID: ...

    def new_subject_ref(self) -> str: ...

    def new_secret(self) -> str: ...


class RandomIds:
    """Identifiers from the operating system's randomness."""

    def new_id(self) -> UUID:
        return uuid.uuid4()

    def new_subject_ref(self) -> str:
        # docs/decisions.md: `subj_` + 32 random hex characters, never derived from the person.
        return "subj_" + secrets.token_hex(16)

    def new_secret(self) -> str:
        return secrets.token_urlsafe(32)
