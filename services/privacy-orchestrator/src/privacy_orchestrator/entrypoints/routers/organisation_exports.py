"""/organisations/{id}/contract-end/export: the organisation's export during a contract end's
offer (art. 28(3)(g)): request it, follow its progress, download the one JSON file.

Another organisation's contact person, and anyone else without a part in it, gets 404; after
the offer ended, 410 (its data is being erased).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final
from uuid import UUID

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from byggrygg_shared.problems import problem_responses
from privacy_orchestrator.entrypoints.dependencies import Caller, Deps
from privacy_orchestrator.service_layer import organisation_exports
from privacy_orchestrator.service_layer.organisation_exports import ExportProgress

router = APIRouter(tags=["contract ends"])

OrganisationId = Annotated[UUID, Path()]
JSON_MEDIA_TYPE: Final = "application/json"
# Personal data: never cached, never sniffed into another type.
_PRIVATE: Final = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class OrganisationExportRead(BaseModel):
    """How far the organisation's export is: counts only."""

    model_config = ConfigDict(frozen=True)

    organisation_id: UUID
    requested_at: datetime
    offer_until: datetime = Field(description="The export is available until the offer ends.")
    requests_filed: int = Field(description="Access requests filed, one per person.")
    filing_complete: bool = Field(description="Every person of the organisation has one.")
    completed: int = Field(description="Access requests completed.")
    ready: bool = Field(description="The file can be downloaded (`.../export/file`).")


def _read(progress: ExportProgress) -> OrganisationExportRead:
    return OrganisationExportRead(
        organisation_id=progress.organisation_id,
        requested_at=progress.requested_at,
        offer_until=progress.offer_until,
        requests_filed=progress.requests_filed,
        filing_complete=progress.filing_complete,
        completed=progress.completed,
        ready=progress.ready,
    )


@router.post(
    "/organisations/{organisation_id}/contract-end/export",
    status_code=202,
    summary="Request the organisation's data back before erasure (art. 28(3)(g))",
    description="The organisation's contact person, or platform staff on its behalf, while "
    "the export offer is open: one access request per person of the organisation, approved at "
    "once (the controller's instruction). 409 if the offer is over or the export was "
    "requested; asking again resumes a filing that was cut short.",
    responses=problem_responses(401, 404, 409, 422),
)
async def request_export(
    deps: Deps, caller: Caller, organisation_id: OrganisationId
) -> OrganisationExportRead:
    return _read(await organisation_exports.request_export(deps, caller, organisation_id))


@router.get(
    "/organisations/{organisation_id}/contract-end/export",
    summary="How far the organisation's export is",
    description="Its contact persons and platform staff, while the offer is open (410 after).",
    responses=problem_responses(401, 404, 410, 422),
)
async def export_progress(
    deps: Deps, caller: Caller, organisation_id: OrganisationId
) -> OrganisationExportRead:
    return _read(await organisation_exports.progress(deps, caller, organisation_id))


@router.get(
    "/organisations/{organisation_id}/contract-end/export/file",
    summary="Download the organisation's export (one JSON file)",
    description="The organisation's contact persons only, once every person's access request "
    "completed (409 before), while the offer is open (410 after): every person's access "
    "export document in one file, combined when downloaded (never stored in plaintext).",
    responses={
        200: {"content": {JSON_MEDIA_TYPE: {}}, "description": "The export file."},
        **problem_responses(401, 404, 409, 410, 422),
    },
    response_class=Response,
)
async def download_export(deps: Deps, caller: Caller, organisation_id: OrganisationId) -> Response:
    export = await organisation_exports.download(deps, caller, organisation_id)
    return Response(
        export.text.encode("utf-8"),
        media_type=JSON_MEDIA_TYPE,
        headers={**_PRIVATE, "Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
