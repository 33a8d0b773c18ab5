"""/requests/{id}/export: the person's access export (R14), as a JSON file and as a web page.

Only the request's subject gets it (the token's ``subject_ref`` is the request's); anyone
else, platform staff and contact persons included, gets 404 as if it did not exist: the
export is the person's own data, and staff have no need to read it. 409 while the request has
not completed, 410 once the export expired or was deleted.
"""

from __future__ import annotations

from typing import Annotated, Final
from uuid import UUID

from fastapi import APIRouter, Path, Response

from byggrygg_shared.problems import problem_responses
from privacy_orchestrator.domain.access_export import CONTENT_SECURITY_POLICY, export_html
from privacy_orchestrator.entrypoints.dependencies import Caller, Deps
from privacy_orchestrator.service_layer import exports

router = APIRouter(tags=["access export"])

RequestId = Annotated[UUID, Path()]

JSON_MEDIA_TYPE: Final = "application/json"
HTML_MEDIA_TYPE: Final = "text/html; charset=utf-8"

# Personal data: never cached, never sniffed into another type, no referrer leaves the page.
_PRIVATE: Final = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_ERRORS: Final = problem_responses(401, 404, 409, 410)


@router.get(
    "/requests/{request_id}/export",
    summary="Download your access export (one JSON file)",
    description="The request's subject only; every participant's and sub-processor's part of "
    "your data in one machine-readable file, available until `expires_at`, then deleted.",
    responses={
        200: {"content": {JSON_MEDIA_TYPE: {}}, "description": "The export file."},
        **_ERRORS,
    },
    response_class=Response,
)
async def download_json(deps: Deps, caller: Caller, request_id: RequestId) -> Response:
    export = await exports.download_export(deps, caller.subject_ref, request_id)
    return Response(
        export.text.encode("utf-8"),
        media_type=JSON_MEDIA_TYPE,
        headers={
            **_PRIVATE,
            "Content-Disposition": f'attachment; filename="{export.filename}"',
        },
    )


@router.get(
    "/requests/{request_id}/export.html",
    summary="Read your access export as a web page",
    description="The same document as `/requests/{id}/export`, readable in a browser: every "
    "value escaped, no scripts (a Content-Security-Policy allows nothing to load or run).",
    responses={
        200: {"content": {"text/html": {}}, "description": "The export as a page."},
        **_ERRORS,
    },
    response_class=Response,
)
async def download_html(deps: Deps, caller: Caller, request_id: RequestId) -> Response:
    export = await exports.download_export(deps, caller.subject_ref, request_id)
    return Response(
        export_html(export.document).encode("utf-8"),
        media_type=HTML_MEDIA_TYPE,
        headers={
            **_PRIVATE,
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Frame-Options": "DENY",
        },
    )
