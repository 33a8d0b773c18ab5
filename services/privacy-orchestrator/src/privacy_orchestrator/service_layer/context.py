"""What the orchestrator's handlers need, built once in bootstrap (tests build their own)."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from byggrygg_shared.sources import Clock, utc_now
from privacy_orchestrator.adapters.record_store import RecordStore
from privacy_orchestrator.domain.signing import RecordSigner


@dataclass(frozen=True)
class Dependencies:
    """The database pool, the record store, the signing key and the clock."""

    pool: asyncpg.Pool
    signer: RecordSigner
    records: RecordStore = field(default_factory=RecordStore)
    clock: Clock = utc_now
