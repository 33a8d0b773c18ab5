"""What the orchestrator's handlers need, built once in bootstrap (tests build their own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import asyncpg

from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.sources import Clock, IdSource, RandomIds, utc_now
from privacy_orchestrator.adapters.record_store import RecordStore
from privacy_orchestrator.adapters.request_store import RequestRepository
from privacy_orchestrator.domain.signing import RecordSigner


class KeyShredder(Protocol):
    """The part of ``byggrygg_shared.keyring.KeyRing`` the workflow uses."""

    async def shred(self, subject_ref: str) -> bool: ...


@dataclass(frozen=True)
class Dependencies:
    """The database pool, the record store, the signing key and the clock."""

    pool: asyncpg.Pool
    signer: RecordSigner
    records: RecordStore = field(default_factory=RecordStore)
    clock: Clock = utc_now
    # The request workflow: requests' history, the outbox of commands, ids, and the
    # participants the plan addresses (None: the installed ones, `plan.installed_participants`).
    requests: RequestRepository = field(default_factory=RequestRepository)
    outbox: EventStore = field(default_factory=EventStore)
    ids: IdSource = field(default_factory=RandomIds)
    participants: tuple[str, ...] | None = None
    # Shreds an erased subject's key when no participant kept anything (None: not shredded).
    keyring: KeyShredder | None = None
