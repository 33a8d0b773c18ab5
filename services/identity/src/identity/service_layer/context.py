"""What every handler receives: the caller (`Actor`), the dependencies, and the unit of work.

`bootstrap` builds the real `Dependencies`; tests may build their own. Handlers never read
settings, clocks or randomness from anywhere else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol
from uuid import UUID

import asyncpg

from byggrygg_shared.correlation import current_correlation_id
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import EventMetadata
from byggrygg_shared.sources import Clock, IdSource
from identity.adapters.repositories import OrganisationRepository, UserRepository
from identity.domain.values import Role


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


class KeyShredding(Protocol):
    """The key ring's shred (R2 destroys an organisation's key scopes)."""

    async def shred(self, subject_ref: str) -> bool: ...


class PasswordHashing(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str | None, password: str) -> bool: ...


@dataclass(frozen=True)
class Policy:
    """The configurable rules of identity."""

    terms_version: str
    bookkeeping_years: int
    invitation_ttl: timedelta


@dataclass(frozen=True)
class Dependencies:
    """Everything a handler may use."""

    pool: asyncpg.Pool
    organisations: OrganisationRepository
    users: UserRepository
    passwords: PasswordHashing
    keys: KeyShredding
    clock: Clock
    ids: IdSource
    policy: Policy

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[asyncpg.Connection]:
        """One transaction: the events, the projections and working state commit together."""
        async with transaction(self.pool) as conn:
            yield conn

    def metadata(self, *, organisation_id: UUID | None) -> EventMetadata:
        """Envelope facts of the events of one command (correlation from the request)."""
        return EventMetadata.new(
            correlation_id=current_correlation_id(),
            tenant_id=None if organisation_id is None else str(organisation_id),
            clock=self.clock,
            new_id=self.ids.new_id,
        )
