"""The access export (R14, DESIGN §5): parts kept, one JSON file assembled, downloaded, expired.

1. Each participant's reply to ``ExportSubject`` carries its part as a key-ring token under
   the subject's key; a sub-processor's part is sealed the same way by the workflow. The
   workflow hands each to `keep_export_part` (idempotent per request and participant).
2. In the transaction that completes an access request, `assemble_export` decrypts the parts,
   builds the one document (`domain.access_export`), seals it as ONE key-ring token under the
   subject's key, stores it until now + the TTL, and deletes the parts. The stored file is
   never plaintext: once the subject's key is shredded it is unreadable, wherever it lies.
3. `download_export`: only the request's subject may download it (not staff, not the contact
   person: the export is the person's own data, art. 15(3)); anyone else is told the export
   does not exist. Each download is counted (count and time only).
4. `ExportExpiryWorker` deletes expired exports, and parts left over from requests that never
   completed once they are older than the TTL.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from byggrygg_shared.background import every
from byggrygg_shared.db import transaction
from byggrygg_shared.keyring import KeyRingError, SubjectErased
from privacy_orchestrator.adapters import export_store, organisation_export_store
from privacy_orchestrator.domain import access_export
from privacy_orchestrator.domain.records import RequestKind
from privacy_orchestrator.domain.request import DataSubjectRequest
from privacy_orchestrator.service_layer.context import Dependencies, SubjectKeys
from privacy_orchestrator.service_layer.errors import (
    ExportGone,
    ExportNotFound,
    ExportNotReady,
    KeyRingMissing,
)

logger = logging.getLogger(__name__)

# The request states in which an access request's export was assembled (or deliberately not).
_ENDED_WITH_EXPORT = frozenset({"completed", "partially_completed"})


def _keyring(deps: Dependencies) -> SubjectKeys:
    if deps.keyring is None:
        raise KeyRingMissing()
    return deps.keyring


async def keep_export_part(
    conn: asyncpg.Connection,
    deps: Dependencies,
    *,
    request_id: UUID,
    participant: str,
    export_token: str,
) -> None:
    """Store a participant's (or sub-processor's, ``subprocessor:<name>``) export part: the
    key-ring token as received. A second part from the same participant is ignored."""
    await export_store.keep_part(
        conn,
        request_id=request_id,
        participant=participant,
        export_token=export_token,
        received_at=deps.clock(),
    )


async def assemble_export(
    conn: asyncpg.Connection, deps: Dependencies, request: DataSubjectRequest
) -> None:
    """Called in the completing transaction of an ACCESS request; builds the one JSON file.

    Idempotent: a second call for the same request finds the export stored and changes
    nothing. Not an access request: nothing to do.
    """
    if request.kind is not RequestKind.ACCESS or await export_store.has_export(conn, request.id):
        return
    keyring = _keyring(deps)
    subject = request.subject_ref
    readable: dict[str, str] = {}
    unreadable: list[str] = []
    for participant, token in (await export_store.parts(conn, request.id)).items():
        try:
            plain = await keyring.decrypt(subject, token)
        except KeyRingError as error:
            logger.warning(
                "export part of %s for request %s unreadable: %s",
                participant,
                request.id,
                type(error).__name__,
            )
            plain = None
        if isinstance(plain, str):
            readable[participant] = plain
        else:  # ERASED (the key was shredded since it was sealed) or unreadable (above)
            unreadable.append(participant)
    asked = list(request.issued) + [
        access_export.SUBPROCESSOR_PREFIX + sub.name for sub in request.sub_processors.values()
    ]
    now = deps.clock()
    expires_at = now + deps.export_ttl
    # Part of an organisation's export at a contract end: kept until the offer ends.
    offer_until = await organisation_export_store.keep_until(conn, request.id)
    if offer_until is not None and offer_until > expires_at:
        expires_at = offer_until
    document = access_export.export_document(
        request_id=request.id,
        subject_ref=subject,
        generated_at=now,
        expires_at=expires_at,
        asked=asked,
        parts=readable,
        unreadable=unreadable,
    )
    try:
        sealed = await keyring.encrypt(subject, access_export.document_text(document))
    except SubjectErased:
        # The person was erased meanwhile: nothing may be stored for them; the parts go too.
        logger.info("request %s: subject erased, no export stored", request.id)
    else:
        await export_store.save_export(
            conn,
            request_id=request.id,
            document=sealed,
            generated_at=now,
            expires_at=expires_at,
        )
        logger.info("request %s: export assembled from %d parts", request.id, len(readable))
    await export_store.delete_parts(conn, request.id)


@dataclass(frozen=True)
class ExportFile:
    """An export as downloaded: the JSON text and the document it holds."""

    request_id: UUID
    text: str

    @property
    def document(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.text)
        return loaded

    @property
    def filename(self) -> str:
        return f"byggrygg-export-{self.request_id}.json"


def export_link(deps: Dependencies, request_id: UUID) -> str:
    """Where the subject downloads the export of ``request_id`` (behind their login): the
    orchestrator's public URL (through the gateway) and the download route."""
    return f"{deps.callback_base_url}/requests/{request_id}/export"


async def download_export(deps: Dependencies, subject_ref: str, request_id: UUID) -> ExportFile:
    """The export of ``request_id`` for its subject ``subject_ref`` (the caller's).

    `ExportNotFound` for anyone else, for a request that is not an access request, or none
    at all; `ExportNotReady` before the request completed; `ExportGone` after expiry, after
    deletion, or when the subject's key was shredded (the row is then deleted at once).
    """
    keyring = _keyring(deps)
    async with transaction(deps.pool) as conn:
        found = await export_store.lookup(conn, request_id)
        if (
            found is None
            or found.kind != RequestKind.ACCESS.value
            or found.subject_ref != subject_ref
        ):
            raise ExportNotFound()
        now = deps.clock()
        if found.document is None or found.expires_at is None:
            raise ExportGone() if found.state in _ENDED_WITH_EXPORT else ExportNotReady()
        if found.expires_at <= now:
            raise ExportGone()
        text = await keyring.decrypt(subject_ref, found.document)
        if isinstance(text, str):
            await export_store.record_download(conn, request_id, now)
            return ExportFile(request_id=request_id, text=text)
        await export_store.delete_export(conn, request_id)
    raise ExportGone()


class ExportExpiryWorker:
    """Deletes expired exports and stale parts, every ``poll_interval`` seconds (R14).

    Idempotent: a pass deletes what is due at the clock's now; a second pass finds nothing.
    """

    def __init__(self, deps: Dependencies, *, poll_interval: float = 60.0) -> None:
        self._deps = deps
        self._poll_interval = poll_interval

    async def purge(self) -> tuple[int, int]:
        """One pass: (exports deleted, parts deleted)."""
        now = self._deps.clock()
        async with transaction(self._deps.pool) as conn:
            exports, parts = await export_store.delete_expired(
                conn, now=now, parts_received_before=now - self._deps.export_ttl
            )
        if exports or parts:
            logger.info("expired access exports deleted: %d exports, %d parts", exports, parts)
        return exports, parts

    async def run(self, stop: asyncio.Event) -> None:
        """The background worker: a pass every ``poll_interval`` seconds; it outlives any one
        bad pass."""
        await every(self._poll_interval, self.purge, stop, name="export expiry pass", logger=logger)
