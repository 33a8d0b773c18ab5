"""The ops dashboard page (issue 6): one HTML page and its own scripts, styles and vendored
chart library, served by reporting itself so nothing is loaded from elsewhere at run time.

The page carries no secret and needs no token to load: it asks platform staff for an access
token in the browser and calls ``/ops/requests/summary`` and ``/ops/kafka`` with it (those
routes check the role). Every response sends a self-only Content-Security-Policy; the page
has no inline script or style. Left out of the API document: these are files, not an API.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Final

from fastapi import APIRouter
from fastapi.responses import Response

from byggrygg_shared.problems import NotFound

router = APIRouter(prefix="/ops/dashboard", tags=["ops"], include_in_schema=False)

# Scripts, styles, data and connections from this origin only; no framing, no <base>, no forms
# posting elsewhere. Chart.js draws on <canvas> and sets styles through the CSSOM (allowed).
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
# The only files served (name under static/ -> media type): no path from the URL reaches the
# file system.
ASSETS: Final = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "vendor/chart.umd.min.js": "text/javascript; charset=utf-8",
}


def _static(name: str) -> bytes:
    return files("reporting").joinpath("static", *name.split("/")).read_bytes()


@router.get("")
async def dashboard_page() -> Response:
    """The dashboard's HTML."""
    return Response(_static("dashboard.html"), media_type="text/html", headers=_HEADERS)


@router.get("/assets/{name:path}")
async def dashboard_asset(name: str) -> Response:
    """One of the page's own files (404 for anything else)."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound("No such dashboard file.")
    return Response(_static(name), media_type=media_type, headers=_HEADERS)
