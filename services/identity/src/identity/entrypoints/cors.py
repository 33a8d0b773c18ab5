"""Cross-origin sign-in for the listed origins only (BYGGRYGG_IDENTITY_CORS_ORIGINS).

Reporting's ops dashboard, when served directly on reporting's port rather than behind the
gateway, is another origin than identity; its sign-in form posts e-mail and password to
``POST /auth/token`` with ``fetch``, which the browser allows only when identity answers CORS.
Only that one route gets CORS, only for the configured origins, only ``POST`` with a JSON
``Content-Type``, and never with credentials: the token travels in the response body, and no
other route (all of which need a bearer token, or are public documents) is opened up.
Behind the gateway everything is one origin and nothing here is used (empty by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

SIGN_IN_PATH: Final = "/auth/token"


class SignInCors:
    """CORS on ``POST /auth/token`` for `origins`; every other path passes untouched."""

    def __init__(self, app: ASGIApp, *, origins: Sequence[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["POST"],
            allow_headers=["Content-Type", "Accept"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == SIGN_IN_PATH:
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
