"""What every handler receives: the caller (`Actor`) and the dependencies.

`bootstrap` builds the real `Dependencies`; tests may build their own. Handlers never read
settings, clocks or randomness from anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from byggrygg_shared.auth import Role
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.sources import Clock, IdSource


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of a query."""

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
    """The live objects of reporting's handlers."""

    pool: asyncpg.Pool
    store: EventStore
    clock: Clock
    ids: IdSource
    # The deployment's minimum k of published statistics (R5; settings.reporting_k_minimum).
    k_minimum: int = 5
    # The statistics' period, "month" or "quarter" (settings.reporting_statistics_period).
    statistics_period: str = "quarter"
