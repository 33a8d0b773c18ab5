"""Honours the gateway's `X-Forwarded-Prefix`, so links a service renders work behind nginx.

The gateway serves a service at `/api/<service>/` and strips that prefix before proxying
(deploy/nginx). A service that renders its own URLs (Swagger UI's `openapi.json`, `Location`
headers) must know the prefix, which ASGI calls `root_path`. Only a prefix of the expected shape
is taken: the header comes from the gateway, but a client reaching the service directly could
send one too, and it must not be able to inject a URL of its choosing into a page.
"""

from __future__ import annotations

import re
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

_HEADER: Final = b"x-forwarded-prefix"
_SAFE_PREFIX: Final = re.compile(r"^(/[a-z0-9-]+)+$")


class ForwardedPrefixMiddleware:
    """Sets the ASGI `root_path` from a well-formed `X-Forwarded-Prefix` header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            prefix = forwarded_prefix(scope)
            if prefix is not None:
                scope = {**scope, "root_path": scope.get("root_path", "") + prefix}
        await self.app(scope, receive, send)


def forwarded_prefix(scope: Scope) -> str | None:
    """The request's forwarded prefix, or None when absent or not a plain path."""
    for name, value in scope.get("headers", ()):
        if name == _HEADER:
            text = value.decode("latin-1")
            return text if _SAFE_PREFIX.fullmatch(text) else None
    return None
