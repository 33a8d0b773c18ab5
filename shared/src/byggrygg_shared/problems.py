"""Every HTTP error of every service as an RFC 9457 problem document (DESIGN §7).

Services raise `Problem` subclasses named for what went wrong; `install_problem_handlers`
turns those, the framework's own errors (unknown route, wrong method, invalid or malformed
input) and any unexpected exception into ``application/problem+json`` responses:

- ``type`` is ``about:blank`` for problems that mean nothing beyond their HTTP status, or
  ``https://byggrygg.no/problems/<slug>`` for problems with their own meaning;
- ``instance`` is the request path and ``request_id`` the correlation id, so a user can quote
  it and an operator can find the log lines;
- submitted values are never echoed back (they may be passwords or personal data) and no
  traceback ever leaves the process; unexpected errors are logged by type and code location
  only, because exception messages often quote the data that caused them.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar, Final

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from byggrygg_shared.correlation import current_correlation_id
from byggrygg_shared.redaction import scrub_text

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
PROBLEM_TYPE_BASE: Final = "https://byggrygg.no/problems/"
_RESERVED_MEMBERS: Final = frozenset({"type", "title", "status", "detail", "instance"})

_log = structlog.get_logger(__name__)


class Problem(Exception):
    """An error that becomes a problem document; subclass it for each thing that can go wrong.

    Class attributes give the defaults (`default_status`, `default_title`, `default_type`: a
    slug under `PROBLEM_TYPE_BASE`, or None for ``about:blank``); the constructor can override
    each one. `detail` is shown to the client: never put personal data or secrets in it.
    """

    default_status: ClassVar[int] = 500
    default_title: ClassVar[str | None] = None
    default_type: ClassVar[str | None] = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        title: str | None = None,
        type_: str | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        self.status: int = status if status is not None else self.default_status
        self.title: str = (
            title
            or (self.default_title if status is None else None)
            or HTTPStatus(self.status).phrase
        )
        self.detail: str | None = detail
        self.type_: str | None = type_ if type_ is not None else self.default_type
        self.headers: dict[str, str] = dict(headers or {})
        clashing = _RESERVED_MEMBERS & set(extensions or {})
        if clashing:
            raise ValueError(f"extension members may not replace {sorted(clashing)}")
        self.extensions: dict[str, Any] = dict(extensions or {})
        super().__init__(detail or self.title)

    @property
    def type_uri(self) -> str:
        """The ``type`` member: an absolute URI."""
        if self.type_ is None:
            return "about:blank"
        if self.type_.startswith(("http://", "https://", "about:", "urn:")):
            return self.type_
        return PROBLEM_TYPE_BASE + self.type_

    def to_document(self, *, instance: str | None, request_id: str | None) -> dict[str, Any]:
        """The JSON body of this problem."""
        document: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
        }
        if self.detail is not None:
            document["detail"] = self.detail
        if instance is not None:
            document["instance"] = instance
        if request_id is not None:
            document["request_id"] = request_id
        document.update(self.extensions)
        return document


class BadRequest(Problem):
    """The request cannot be understood (400)."""

    default_status = 400


class MalformedJson(BadRequest):
    """The request body is not parseable JSON (400)."""

    default_title = "Malformed JSON"
    default_type = "malformed-json"


class Unauthorized(Problem):
    """No valid credentials came with the request (401); carries a ``WWW-Authenticate``."""

    default_status = 401

    def __init__(
        self,
        detail: str | None = None,
        *,
        error: str = "invalid_token",
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        # RFC 6750 §3: a request without any credentials gets no error code at all.
        challenge = 'Bearer realm="byggrygg"'
        if error:
            challenge += f', error="{error}"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge}, extensions=extensions)


class Forbidden(Problem):
    """The caller is known but may not do this (403)."""

    default_status = 403


class NotFound(Problem):
    """No such resource, or none the caller may know about (404)."""

    default_status = 404


class Conflict(Problem):
    """The request conflicts with the current state (409)."""

    default_status = 409


class ValidationFailed(Problem):
    """The request is well formed but its content is invalid (422)."""

    default_status = 422
    default_title = "Validation failed"
    default_type = "validation-failed"


class ServiceUnavailable(Problem):
    """A dependency this request needs is not available right now (503)."""

    default_status = 503


class InternalError(Problem):
    """Something unexpected went wrong; details stay in the logs (500)."""

    default_status = 500
    default_detail: ClassVar[str] = (
        "An unexpected error occurred. Quote the request_id when reporting it."
    )

    def __init__(self) -> None:
        super().__init__(self.default_detail)


def _instance_of(scope: Scope) -> str:
    # The path only: query strings are where personal data tends to hide.
    return scrub_text(str(scope.get("path", "")))


def problem_response(problem: Problem, scope: Scope | Request) -> JSONResponse:
    """A response carrying `problem` for the request described by `scope`."""
    raw_scope = scope.scope if isinstance(scope, Request) else scope
    document = problem.to_document(
        instance=_instance_of(raw_scope), request_id=current_correlation_id()
    )
    return JSONResponse(
        document, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_MEDIA_TYPE
    )


def _field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Where and why, never what: ``input`` and ``ctx`` are dropped (they quote the input)."""
    return [
        {
            "loc": [
                scrub_text(part) if isinstance(part, str) else part for part in error.get("loc", ())
            ],
            "type": str(error.get("type", "")),
            "msg": scrub_text(str(error.get("msg", ""))),
        }
        for error in errors
    ]


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc, request)


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    problem = Problem(detail, status=exc.status_code, headers=exc.headers)
    return problem_response(problem, request)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return problem_response(MalformedJson("The request body is not valid JSON."), request)
    problem = ValidationFailed(
        "The request has invalid fields; see errors.",
        extensions={"errors": _field_errors(errors)},
    )
    return problem_response(problem, request)


def _where(exc: BaseException) -> list[str]:
    """Code locations of a traceback, without the exception message or any local values."""
    return [
        f"{frame.filename}:{frame.lineno} in {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)
    ]


def log_unhandled(exc: BaseException, scope: Scope) -> None:
    """Log an unexpected exception by type and location only (messages may quote personal data)."""
    route = scope.get("route")
    _log.error(
        "unhandled_exception",
        exc_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
        where=_where(exc),
        method=scope.get("method"),
        route=getattr(route, "path", None),
    )


async def _on_unhandled(request: Request, exc: Exception) -> JSONResponse:
    # Last resort, used only for errors raised outside UnhandledExceptionMiddleware.
    log_unhandled(exc, request.scope)
    return problem_response(InternalError(), request)


class UnhandledExceptionMiddleware:
    """Pure ASGI middleware turning any exception from the app into a 500 problem.

    It sits innermost among the user middleware, so the request-context middleware around it
    still sees a normal response (request id header, status 500 in the metrics, correlation id
    in the log line). The exception is not re-raised: the server would print its traceback,
    message included, to a log nobody filters.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log_unhandled(exc, scope)
            if started:
                # Too late for a problem document; let the server drop the connection.
                raise
            await problem_response(InternalError(), scope)(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error response of `app` a problem document (call before the app starts)."""
    if app.middleware_stack is not None:
        raise RuntimeError("install_problem_handlers must run before the app starts")
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Exception, _on_unhandled)
    # Appended, not inserted: innermost whatever order other middleware is added in.
    app.user_middleware.append(Middleware(UnhandledExceptionMiddleware))


_PROBLEM_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference", "default": "about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Field errors of a 422 validation problem.",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "type": {"type": "string"},
                    "msg": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem documents for `statuses`."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_SCHEMA}},
        }
        for status in statuses
    }
