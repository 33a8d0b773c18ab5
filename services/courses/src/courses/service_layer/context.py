"""What every handler receives: the caller (`Actor`), the dependencies, and the unit of work.

`bootstrap` builds the real `Dependencies`; tests may build their own. Handlers never read
settings, clocks or randomness from anywhere else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from byggrygg_shared.auth import Role
from byggrygg_shared.correlation import current_correlation_id
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import EventMetadata, ReceivedEvent
from byggrygg_shared.sources import Clock, IdSource
from courses.adapters.event_codec import FieldCipher
from courses.adapters.repositories import CourseRepository, EnrolmentRepository


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


@dataclass(frozen=True)
class Dependencies:
    """Everything a handler may use."""

    pool: asyncpg.Pool
    courses: CourseRepository
    enrolments: EnrolmentRepository
    cipher: FieldCipher
    clock: Clock
    ids: IdSource

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[asyncpg.Connection]:
        """One transaction: the events, the projections and the inbox row commit together."""
        async with transaction(self.pool) as conn:
            yield conn

    def metadata(
        self, *, organisation_id: UUID | None, cause: ReceivedEvent | None = None
    ) -> EventMetadata:
        """Envelope facts of the events of one command: correlated with the request, or with
        the consumed event that caused them."""
        tenant_id = None if organisation_id is None else str(organisation_id)
        if cause is not None:
            return EventMetadata.caused_by(
                cause, tenant_id=tenant_id, clock=self.clock, new_id=self.ids.new_id
            )
        return EventMetadata.new(
            correlation_id=current_correlation_id(),
            tenant_id=tenant_id,
            clock=self.clock,
            new_id=self.ids.new_id,
        )
