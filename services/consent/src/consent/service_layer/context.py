"""What every handler receives: the caller (`Actor`), the dependencies, and the unit of work.

`bootstrap` builds the real `Dependencies`; tests may build their own. Handlers never read
settings, clocks or randomness from anywhere else. Each capability (newsletter, cookies,
policy versions, correspondence, complaints) reads and writes its own tables through the one
``pool`` and appends through the one ``store``; personal fields of events are sealed with
``cipher`` (the key ring) under the person's ``subject_ref``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol
from uuid import UUID

import asyncpg

from byggrygg_shared.auth import Role
from byggrygg_shared.correlation import current_correlation_id
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import EventMetadata
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.keyring import Erased
from byggrygg_shared.sources import Clock, IdSource


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of a command."""

    user_id: str
    subject_ref: str
    organisation_id: UUID | None
    roles: frozenset[Role]

    @property
    def is_staff(self) -> bool:
        return Role.PLATFORM_STAFF in self.roles

    def has_role(self, role: Role) -> bool:
        return role in self.roles


class FieldCipher(Protocol):
    """The part of the key ring handlers use (``byggrygg_shared.keyring.KeyRing``)."""

    async def encrypt(self, subject_ref: str, plaintext: str) -> str: ...

    async def decrypt(self, subject_ref: str, token: str) -> str | Erased: ...


class KeyShredder(Protocol):
    """Destroys a key scope (``byggrygg_shared.keyring.KeyRing.shred``): every token sealed
    under it becomes unreadable (crypto-shredding; correspondence deletion, R9, R10)."""

    async def shred(self, subject_ref: str) -> bool: ...


@dataclass(frozen=True)
class Links:
    """Public links put in mails: consent's URL as the public sees it, and the key that
    signs one-click withdrawal links (so they need no stored token)."""

    public_url: str
    signing_key: bytes

    def url(self, path: str) -> str:
        return f"{self.public_url.rstrip('/')}/{path.lstrip('/')}"


@dataclass(frozen=True)
class Policy:
    """The configurable rules of consent."""

    confirmation_ttl: timedelta = timedelta(hours=48)
    # R9: correspondence is kept this many years after the customer relationship ends.
    correspondence_retention_years: int = 1


@dataclass(frozen=True)
class Dependencies:
    """Everything a handler may use."""

    pool: asyncpg.Pool
    store: EventStore
    cipher: FieldCipher
    clock: Clock
    ids: IdSource
    links: Links
    policy: Policy = Policy()
    # The key ring again, for destroying key scopes; None where nothing is ever erased.
    shredder: KeyShredder | None = None

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[asyncpg.Connection]:
        """One transaction: events, projections, working state and queued mail commit
        together."""
        async with transaction(self.pool) as conn:
            yield conn

    def metadata(
        self, *, organisation_id: UUID | None = None, subject_ref: str | None = None
    ) -> EventMetadata:
        """Envelope facts of the events of one command (correlation from the request)."""
        return EventMetadata.new(
            correlation_id=current_correlation_id(),
            tenant_id=None if organisation_id is None else str(organisation_id),
            subject_ref=subject_ref,
            clock=self.clock,
            new_id=self.ids.new_id,
        )
