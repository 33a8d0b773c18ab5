"""/organisations/{id}/contract-end: a contract end's export offer to the controller
(art. 28(3)(g)) and the erasure that follows it (R2, R6); /contract-ends for platform staff."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from byggrygg_shared.contracts.identity import RetentionClaim
from byggrygg_shared.problems import problem_responses
from privacy_orchestrator.adapters.contract_end_store import ContractEndView
from privacy_orchestrator.domain.triggers import ContractEndState, OfferOutcome
from privacy_orchestrator.entrypoints.dependencies import Caller, ContactPerson, Deps, Staff
from privacy_orchestrator.service_layer import contract_ends

router = APIRouter(tags=["contract ends"])

OrganisationId = Annotated[UUID, Path()]


class ContractEndRead(BaseModel):
    """An organisation's contract end: the export offer and the erasure after it."""

    model_config = ConfigDict(frozen=True)

    organisation_id: UUID
    ended_on: date
    retention: list[RetentionClaim] = Field(
        description="What identity keeps after the end, each with its own clock (R2)."
    )
    state: ContractEndState = Field(
        description="export_offered: the controller may take its data back; erasing: the "
        "erasures are being filed; erasure_filed: every known user's erasure is filed."
    )
    offer_until: datetime = Field(description="When the export offer runs out.")
    offer_ended_at: datetime | None
    offer_outcome: OfferOutcome | None = Field(
        description="expired, or declined by the contact person."
    )
    erasures_filed: int = Field(description="Erasure requests filed so far.")
    erasure_filed_at: datetime | None


def _read(view: ContractEndView) -> ContractEndRead:
    return ContractEndRead(
        organisation_id=view.organisation_id,
        ended_on=view.ended_on,
        retention=view.retention,
        state=view.state,
        offer_until=view.offer_until,
        offer_ended_at=view.offer_ended_at,
        offer_outcome=view.offer_outcome,
        erasures_filed=view.filed,
        erasure_filed_at=view.erased_at,
    )


@router.get(
    "/organisations/{organisation_id}/contract-end",
    summary="The organisation's contract end and export offer",
    description="Its contact persons and platform staff; anyone else gets 404.",
    responses=problem_responses(401, 404, 422),
)
async def get_contract_end(
    deps: Deps, caller: Caller, organisation_id: OrganisationId
) -> ContractEndRead:
    return _read(await contract_ends.get_contract_end(deps, caller, organisation_id))


@router.post(
    "/organisations/{organisation_id}/contract-end/decline",
    summary="End the export offer early: erasure starts (contact person of the organisation)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def decline_export_offer(
    deps: Deps, caller: ContactPerson, organisation_id: OrganisationId
) -> ContractEndRead:
    return _read(await contract_ends.decline_export_offer(deps, caller, organisation_id))


@router.get(
    "/contract-ends",
    summary="Contract ends, latest first (platform staff)",
    responses=problem_responses(401, 403, 422),
)
async def list_contract_ends(
    deps: Deps, _staff: Staff, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[ContractEndRead]:
    return [_read(view) for view in await contract_ends.list_contract_ends(deps, limit=limit)]
