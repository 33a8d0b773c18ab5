"""The ops dashboard page (issue 6): one HTML page and its own scripts, styles and vendored
chart library, served by reporting itself so nothing is loaded from elsewhere at run time.

The page carries no secret and needs no token to load. Platform staff sign in on it with
e-mail and password against identity's ``POST /auth/token`` (``dashboard_sign_in``: where
that is, and what the CSP then allows); the page calls ``/ops/requests/summary`` and
``/ops/kafka`` with the token (those routes check the role). Every response sends a
self-only Content-Security-Policy; the page has no inline script or style. Left out of the API
document: these are files, not an API.
"""

from __future__ import annotations

import html
from importlib.resources import files
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from byggrygg_shared.problems import NotFound
from reporting.entrypoints.routers.dashboard_sign_in import (
    content_security_policy,
    sign_in_base,
)

router = APIRouter(prefix="/ops/dashboard", tags=["ops"], include_in_schema=False)

# The policy of the assets, and of the page when it signs in on its own origin.
CONTENT_SECURITY_POLICY: Final = content_security_policy("")
_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
# The only files served (name under static/ -> media type): no path from the URL reaches the
# file system.
ASSETS: Final = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "sign_in.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "vendor/chart.umd.min.js": "text/javascript; charset=utf-8",
}
# Where the page reads identity's base URL from (dashboard.js); filled per request.
_IDENTITY_PLACEHOLDER: Final = "@IDENTITY_URL@"


def _static(name: str) -> bytes:
    return files("reporting").joinpath("static", *name.split("/")).read_bytes()


@router.get("")
async def dashboard_page(request: Request) -> Response:
    """The dashboard's HTML, told where identity's sign-in is for the way it was reached."""
    configured = str(getattr(request.app.state, "dashboard_identity_url", ""))
    base = sign_in_base(request.scope.get("root_path", ""), configured)
    page = _static("dashboard.html").decode()
    body = page.replace(_IDENTITY_PLACEHOLDER, html.escape(base, quote=True))
    headers = {**_HEADERS, "Content-Security-Policy": content_security_policy(base)}
    return Response(body, media_type="text/html", headers=headers)


@router.get("/assets/{name:path}")
async def dashboard_asset(name: str) -> Response:
    """One of the page's own files (404 for anything else)."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound("No such dashboard file.")
    headers = {**_HEADERS, "Content-Security-Policy": CONTENT_SECURITY_POLICY}
    return Response(_static(name), media_type=media_type, headers=headers)
