"""A contract end as its controller sees it (art. 28(3)(g)): the export offer, its end date,
the retention claims (R2) and how far the erasure is; the contact person may end the offer
early, and erasure starts at the scheduler's next pass.

Visible to the organisation's contact persons and to platform staff; to anyone else (another
organisation's contact person included) it does not exist (404).
"""

from __future__ import annotations

import logging
from uuid import UUID

from byggrygg_shared.auth import Principal, Role
from byggrygg_shared.db import transaction
from privacy_orchestrator.adapters import contract_end_store
from privacy_orchestrator.adapters.contract_end_store import ContractEndView
from privacy_orchestrator.domain.triggers import OfferOutcome, require_offer_open
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.errors import ContractEndNotFound

logger = logging.getLogger(__name__)


def _contact_person_of(principal: Principal, organisation_id: UUID) -> bool:
    return Role.CONTACT_PERSON in principal.roles and principal.organisation_id == str(
        organisation_id
    )


async def get_contract_end(
    deps: Dependencies, principal: Principal, organisation_id: UUID
) -> ContractEndView:
    """The organisation's contract end, if the caller may see it (else `ContractEndNotFound`)."""
    if not (principal.is_platform_staff or _contact_person_of(principal, organisation_id)):
        raise ContractEndNotFound(organisation_id)
    async with deps.pool.acquire() as conn:
        view = await contract_end_store.find_contract_end(conn, organisation_id)
    if view is None:
        raise ContractEndNotFound(organisation_id)
    return view


async def list_contract_ends(deps: Dependencies, *, limit: int) -> list[ContractEndView]:
    """The latest contract ends (platform staff)."""
    async with deps.pool.acquire() as conn:
        return await contract_end_store.list_contract_ends(conn, limit=limit)


async def decline_export_offer(
    deps: Dependencies, principal: Principal, organisation_id: UUID
) -> ContractEndView:
    """The contact person ends the export offer early: erasure starts (`ExportOfferClosed`
    once it is over)."""
    if not _contact_person_of(principal, organisation_id):
        raise ContractEndNotFound(organisation_id)
    async with transaction(deps.pool) as conn:
        view = await contract_end_store.find_contract_end(conn, organisation_id, for_update=True)
        if view is None:
            raise ContractEndNotFound(organisation_id)
        now = deps.clock()
        require_offer_open(view.state, view.offer_until, now)
        await contract_end_store.end_offer(
            conn, view.contract_end_id, outcome=OfferOutcome.DECLINED, at=now
        )
        declined = await contract_end_store.find_contract_end(conn, organisation_id)
    assert declined is not None
    logger.info("export offer of organisation %s declined", organisation_id)
    return declined
