"""The organisation's export at a contract end (art. 28(3)(g)): the controller takes its data
back during the export offer, before everything is erased.

1. `request_export`: the organisation's contact person (or platform staff on the controller's
   behalf) asks while the offer is open. One ACCESS request is filed per subject of the
   organisation's directory (``organisation_subjects``), approved at once: the controller
   instructs its processor, so there is no per-person approval step (R7, R18 do not apply to
   the controller's own instruction). Filed in bounded batches, each its own transaction under
   the export row's lock: a request cut short (a crash, a timeout) is resumed by asking again,
   and no subject gets two requests. Asking again after every request is filed: 409.
2. Each request runs the ordinary access workflow (participants' ``ExportSubject`` replies,
   sub-processors, the per-person export assembled and sealed under the subject's key). The
   per-person exports stay stored until the offer ends (`keep_until`), longer than the usual
   export TTL if need be, so the controller's export does not lose people to expiry.
3. `progress` (contact persons and staff): how many of the requests completed.
   `download` (the organisation's contact persons only: the data goes back to the controller,
   staff have no need to read it; staff get 404 as for a person's export): once every request
   completed, ONE JSON document with each person's export document, decrypted with the key
   ring and combined on the fly: the combined file is never stored.
4. The offer's end is the controller's deadline (art. 28(3)(g) lets the controller choose
   return or deletion; the contract gives it the offer period to choose): when the offer ends
   (expired or declined), the export is gone (410) and the retention scheduler erases
   everyone, finished or not. The scheduler does not wait for unfinished export requests.

The per-person exports of these requests stay downloadable by each subject as well: they are
the person's own data, and the subject may read what the controller receives.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID

import asyncpg

from byggrygg_shared.auth import Principal, Role
from byggrygg_shared.db import transaction
from byggrygg_shared.keyring import KeyRingError
from privacy_orchestrator.adapters import contract_end_store
from privacy_orchestrator.adapters import organisation_export_store as store
from privacy_orchestrator.adapters.contract_end_store import ContractEndView
from privacy_orchestrator.domain.records import ActorRole, RequestKind
from privacy_orchestrator.domain.request import Actor, DataSubjectRequest
from privacy_orchestrator.domain.triggers import offer_is_over, require_offer_open
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.errors import (
    ContractEndNotFound,
    KeyRingMissing,
    OrganisationExportGone,
    OrganisationExportNotFound,
    OrganisationExportNotReady,
    OrganisationExportRequested,
)
from privacy_orchestrator.service_layer.requests import open_request

logger = logging.getLogger(__name__)

FORMAT: Final = "byggrygg.organisation-export.v1"
# Access requests filed per transaction: bounds a transaction's length and its locks.
BATCH_SIZE: Final = 200


@dataclass(frozen=True)
class ExportProgress:
    """How far the organisation's export is (counts only, no subject refs)."""

    organisation_id: UUID
    requested_at: datetime
    offer_until: datetime
    requests_filed: int
    filing_complete: bool
    completed: int

    @property
    def ready(self) -> bool:
        return self.filing_complete and self.completed == self.requests_filed


@dataclass(frozen=True)
class OrganisationExportFile:
    organisation_id: UUID
    text: str

    @property
    def filename(self) -> str:
        return f"byggrygg-organisation-export-{self.organisation_id}.json"


def _contact_person_of(principal: Principal, organisation_id: UUID) -> bool:
    return Role.CONTACT_PERSON in principal.roles and principal.organisation_id == str(
        organisation_id
    )


def _may_see(principal: Principal, organisation_id: UUID) -> bool:
    return principal.is_platform_staff or _contact_person_of(principal, organisation_id)


def _actor(principal: Principal, organisation_id: UUID, at: datetime) -> Actor:
    """The controller's contact person, or staff acting on the controller's instruction."""
    if _contact_person_of(principal, organisation_id):
        return Actor(
            role=ActorRole.CONTACT_PERSON,
            account=principal.user_id,
            organisation_id=organisation_id,
            at=at,
        )
    return Actor(
        role=ActorRole.PLATFORM_STAFF, account=principal.user_id, organisation_id=None, at=at
    )


async def request_export(
    deps: Dependencies,
    principal: Principal,
    organisation_id: UUID,
    *,
    batch_size: int = BATCH_SIZE,
) -> ExportProgress:
    """File one approved ACCESS request per subject of the organisation (see the module)."""
    if not _may_see(principal, organisation_id):
        raise ContractEndNotFound(organisation_id)
    async with transaction(deps.pool) as conn:
        offer = await contract_end_store.find_contract_end(conn, organisation_id, for_update=True)
        if offer is None:
            raise ContractEndNotFound(organisation_id)
        now = deps.clock()
        require_offer_open(offer.state, offer.offer_until, now)
        started = await store.start(
            conn,
            organisation_id=organisation_id,
            contract_end_id=offer.contract_end_id,
            requested_at=now,
            requested_by_role=_actor(principal, organisation_id, now).role.value,
        )
        if not started:
            existing = await store.find(conn, organisation_id)
            if existing is None or existing.filed_at is not None:
                raise OrganisationExportRequested(organisation_id)
            # Filing was cut short: this call resumes it.
    while await _file_batch(deps, principal, organisation_id, batch_size):
        pass
    logger.info("organisation export of %s: access requests filed", organisation_id)
    return await progress(deps, principal, organisation_id)


async def _file_batch(
    deps: Dependencies, principal: Principal, organisation_id: UUID, batch_size: int
) -> bool:
    """File the next batch in one transaction; False when none was left (filing finished)."""
    async with transaction(deps.pool) as conn:
        # The row lock makes concurrent callers take turns: no subject is filed twice.
        await store.find(conn, organisation_id, for_update=True)
        now = deps.clock()
        offer = await contract_end_store.find_contract_end(conn, organisation_id)
        if offer is None or offer_is_over(
            state=offer.state, offer_until=offer.offer_until, now=now
        ):
            # Declined or expired meanwhile: erasure has started, asking for more is pointless.
            logger.info("organisation export of %s: offer ended while filing", organisation_id)
            return False
        subjects = await store.subjects_without_request(conn, organisation_id, limit=batch_size)
        if not subjects:
            await store.finish_filing(conn, organisation_id, now)
            return False
        actor = _actor(principal, organisation_id, now)
        filed = [
            await file_controller_access(
                conn, deps, subject_ref=subject, organisation_id=organisation_id, actor=actor
            )
            for subject in subjects
        ]
        await store.link(conn, organisation_id, filed)
    return True


async def _open_export(
    deps: Dependencies, organisation_id: UUID
) -> tuple[ContractEndView, store.OrganisationExport]:
    async with deps.pool.acquire() as conn:
        offer = await contract_end_store.find_contract_end(conn, organisation_id)
        export = await store.find(conn, organisation_id)
    if offer is None:
        raise ContractEndNotFound(organisation_id)
    if export is None or export.contract_end_id != offer.contract_end_id:
        raise OrganisationExportNotFound(organisation_id)
    if offer_is_over(state=offer.state, offer_until=offer.offer_until, now=deps.clock()):
        raise OrganisationExportGone(organisation_id)
    return offer, export


async def progress(
    deps: Dependencies, principal: Principal, organisation_id: UUID
) -> ExportProgress:
    """How many of the export's access requests completed (contact persons and staff)."""
    if not _may_see(principal, organisation_id):
        raise ContractEndNotFound(organisation_id)
    offer, export = await _open_export(deps, organisation_id)
    async with deps.pool.acquire() as conn:
        completed = await store.count_completed(conn, organisation_id)
    return ExportProgress(
        organisation_id=organisation_id,
        requested_at=export.requested_at,
        offer_until=offer.offer_until,
        requests_filed=export.filed,
        filing_complete=export.filed_at is not None,
        completed=completed,
    )


async def download(
    deps: Dependencies, principal: Principal, organisation_id: UUID
) -> OrganisationExportFile:
    """The organisation's export as one JSON document (its contact persons only)."""
    if not _contact_person_of(principal, organisation_id):
        raise ContractEndNotFound(organisation_id)
    if deps.keyring is None:
        raise KeyRingMissing()
    current = await progress(deps, principal, organisation_id)
    if not current.ready:
        raise OrganisationExportNotReady(organisation_id)
    async with deps.pool.acquire() as conn:
        offer = await contract_end_store.find_contract_end(conn, organisation_id)
        people = await store.person_exports(conn, organisation_id)
    assert offer is not None
    persons: list[Any] = []
    unavailable: list[dict[str, str]] = []
    for person in people:
        text: object = None
        if person.document is not None:
            try:
                text = await deps.keyring.decrypt(person.subject_ref, person.document)
            except KeyRingError as error:
                logger.warning(
                    "export of request %s unreadable: %s", person.request_id, type(error).__name__
                )
        if isinstance(text, str):
            persons.append(json.loads(text))
        else:  # not stored (the subject was erased meanwhile) or unreadable
            unavailable.append(
                {"request_id": str(person.request_id), "subject_ref": person.subject_ref}
            )
    document = organisation_document(
        organisation_id, offer.ended_on, offer.offer_until, deps.clock(), persons, unavailable
    )
    logger.info("organisation export of %s downloaded: %d persons", organisation_id, len(persons))
    return OrganisationExportFile(
        organisation_id=organisation_id,
        text=json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2),
    )


def _timestamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def organisation_document(
    organisation_id: UUID,
    ended_on: date,
    offer_until: datetime,
    generated_at: datetime,
    persons: list[Any],
    unavailable: list[dict[str, str]],
) -> dict[str, Any]:
    """``persons``: each person's access export document (``byggrygg.access-export.v1``);
    ``unavailable``: requests whose export could not be read (the person erased meanwhile)."""
    return {
        "format": FORMAT,
        "organisation_id": str(organisation_id),
        "contract_ended_on": ended_on.isoformat(),
        "offer_until": _timestamp(offer_until),
        "generated_at": _timestamp(generated_at),
        "persons": persons,
        "unavailable": unavailable,
    }


async def file_controller_access(
    conn: asyncpg.Connection,
    deps: Dependencies,
    *,
    subject_ref: str,
    organisation_id: UUID,
    actor: Actor,
) -> UUID:
    """File an ACCESS request for one subject of ``organisation_id`` on the controller's
    instruction, approved and fanned out at once, in the caller's transaction; its id.

    No per-person approval step (R18's wait for a contact person's decision): the actor IS the
    controller giving its processor the instruction (art. 28(3)(a), (g)); filing and approving
    are one act. A contact person's request would wait for a decision, so it is approved here
    by the same actor; a staff actor's is approved at once by ``receive``.
    """
    request = DataSubjectRequest.receive(
        request_id=deps.ids.new_id(),
        kind=RequestKind.ACCESS,
        subject_ref=subject_ref,
        organisation_id=organisation_id,
        requested_by=actor,
    )
    if request.state.value == "awaiting_controller":
        request.approve(actor)
    await open_request(conn, deps, request)
    return request.id
