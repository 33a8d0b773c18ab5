"""What the orchestrator's handlers need, built once in bootstrap (tests build their own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

import asyncpg

from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.sources import Clock, IdSource, RandomIds, utc_now
from privacy_orchestrator.adapters.record_store import RecordStore
from privacy_orchestrator.adapters.request_store import RequestRepository
from privacy_orchestrator.domain.signing import RecordSigner
from privacy_orchestrator.service_layer.subprocessors import SubProcessorContext


class SubjectKeys(Protocol):
    """The part of ``byggrygg_shared.keyring.KeyRing`` the workflow uses: shred an erased
    subject's key, seal a rectification's values and an access export part (R14, R15)."""

    async def shred(self, subject_ref: str) -> bool: ...

    async def encrypt(self, subject_ref: str, plaintext: str) -> str: ...

    async def decrypt(self, subject_ref: str, token: str) -> object: ...


KeyShredder = SubjectKeys  # the earlier name


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
    # Shreds an erased subject's key when no participant kept anything (None: not shredded),
    # seals rectifications and sub-processors' export parts under the subject's key.
    keyring: SubjectKeys | None = None
    # The sub-processors asked at fan-out (R13; None: none, e.g. the records-only CLI) and the
    # orchestrator's public base URL their callbacks go to (`/subprocessors/{id}/callbacks`).
    subprocessors: SubProcessorContext | None = None
    callback_base_url: str = ""
    # How long an assembled access export stays downloadable (R14; settings
    # `privacy_orchestrator_export_ttl_hours`), then the expiry worker deletes it.
    export_ttl: timedelta = timedelta(hours=168)
