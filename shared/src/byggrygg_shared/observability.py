"""Logs, request context, metrics and health endpoints of every service (DESIGN §6).

- `configure_logging`: one JSON line per record (structlog, also for records of libraries
  using the standard `logging` module) with ``timestamp``, ``level``, ``service``,
  ``logger``, ``correlation_id`` and ``message``; personal data is redacted by key and by
  value before rendering (`byggrygg_shared.redaction`), and exceptions are logged as type and
  code locations only, never with their messages.
- `RequestContextMiddleware` (pure ASGI): takes the caller's ``X-Request-ID`` (or makes one),
  binds it as the correlation id, returns it on the response, counts the request and times it
  in Prometheus by method, **route template** (never the raw path: ids and e-mail addresses
  would end up in label values) and status, and writes one access log line.
- `metrics_router` serves ``/metrics``; `health_router` serves ``/healthz`` (the process
  answers) and ``/readyz`` (every readiness check passes within its timeout, else a 503
  problem naming the failing checks).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from typing import IO, Final
from uuid import uuid4

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.typing import EventDict, Processor, WrappedLogger

from byggrygg_shared import metrics
from byggrygg_shared.correlation import correlation_id, current_correlation_id
from byggrygg_shared.problems import ServiceUnavailable, problem_response
from byggrygg_shared.redaction import redact

__all__ = [
    "REQUEST_ID_HEADER",
    "NotReady",
    "ReadinessCheck",
    "RequestContextMiddleware",
    "configure_logging",
    "correlation_id",
    "health_router",
    "instrument_app",
    "metrics_router",
    "route_template",
]

REQUEST_ID_HEADER: Final = "X-Request-ID"
# Accepted from callers as is; anything else (too long, odd characters that could forge log
# lines) is replaced by a fresh id.
_VALID_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_KNOWN_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
_QUIET_ROUTES: Final = frozenset({"/healthz", "/readyz", "/metrics"})
_HANDLER_MARK: Final = "_byggrygg_json_handler"

ReadinessCheck = Callable[[], Awaitable[None]]

_log = structlog.get_logger(__name__)


# --- logging ----------------------------------------------------------------------------


def _add_service(service: str) -> Processor:
    def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict["service"] = service
        return event_dict

    return add_service


def _add_correlation_id(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    current = current_correlation_id()
    if current is not None:
        event_dict.setdefault("correlation_id", current)
    return event_dict


def _summarise_exception(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Replace ``exc_info`` by the exception's type and code locations (no message)."""
    exc_info = event_dict.pop("exc_info", None)
    if exc_info is None or exc_info is False:
        return event_dict
    if exc_info is True:
        exc_info = sys.exc_info()
    exc: BaseException | None = None
    if isinstance(exc_info, BaseException):
        exc = exc_info
    elif isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc = exc_info[1]
    if exc is not None:
        event_dict["exception"] = {
            "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "where": [
                f"{frame.filename}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(exc.__traceback__)
            ],
        }
    return event_dict


def _redact_personal_data(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    redacted = redact(dict(event_dict))
    assert isinstance(redacted, dict)
    return redacted


def configure_logging(service: str, level: str = "INFO", *, stream: IO[str] | None = None) -> None:
    """Send every log record of the process, as redacted JSON lines, to `stream` (stderr).

    Call once at start-up (calling again replaces the previous configuration). Run uvicorn
    with ``log_config=None`` so its records come through here too.
    """
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        _add_service(service),
        _add_correlation_id,
        _summarise_exception,
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.EventRenamer("message"),
        # Last before rendering, so nothing added above escapes it.
        _redact_personal_data,
        structlog.processors.JSONRenderer(),
    ]
    # The whole chain runs in the formatter, so structlog's own records and those of other
    # libraries (uvicorn, aiokafka, asyncpg) get exactly the same treatment.
    formatter = structlog.stdlib.ProcessorFormatter(processors=processors)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, _HANDLER_MARK, False):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's access log prints raw paths and query strings; our middleware logs route
    # templates instead.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached, so that configuring again (tests) takes effect on existing loggers.
        cache_logger_on_first_use=False,
    )


# --- request context and HTTP metrics ---------------------------------------------------


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/users/{user_id}``), or ``unmatched``."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else "unmatched"


class RequestContextMiddleware:
    """Pure ASGI middleware: request id in and out, correlation id, metrics, access log.

    Pure ASGI rather than ``BaseHTTPMiddleware`` so that context variables set here are seen
    by the endpoint and streaming responses are not buffered.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        new_request_id: Callable[[], str] = lambda: uuid4().hex,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.app = app
        self._new_request_id = new_request_id
        self._timer = timer

    def _request_id(self, scope: Scope) -> str:
        wanted = REQUEST_ID_HEADER.lower().encode("latin-1")
        for name, value in scope.get("headers", ()):
            if name.lower() == wanted:
                candidate: str = value.decode("latin-1")
                if _VALID_REQUEST_ID.fullmatch(candidate):
                    return candidate
                break
        return self._new_request_id()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        token = correlation_id.set(request_id)
        # If the app fails before answering, the server answers 500.
        status = 500
        started = self._timer()

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            elapsed = self._timer() - started
            method = str(scope.get("method", "")).upper()
            method = method if method in _KNOWN_METHODS else "OTHER"
            route = route_template(scope)
            labels = (method, route, str(status))
            metrics.http_requests_total.labels(*labels).inc()
            metrics.http_request_duration_seconds.labels(*labels).observe(elapsed)
            log = _log.debug if route in _QUIET_ROUTES else _log.info
            log(
                "http_request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            correlation_id.reset(token)


# --- endpoints --------------------------------------------------------------------------


def metrics_router(registry: CollectorRegistry = REGISTRY) -> APIRouter:
    """``GET /metrics`` in the Prometheus text format."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


class NotReady(ServiceUnavailable):
    """One or more readiness checks failed (503)."""

    default_title = "Not ready"
    default_type = "not-ready"


async def _run_check(name: str, check: ReadinessCheck, limit_seconds: float) -> str | None:
    """None when the check passed, else a short reason (never the exception message:
    it may hold a DSN with a password)."""
    try:
        await asyncio.wait_for(check(), limit_seconds)
    except TimeoutError:
        reason = "timeout"
    except Exception as exc:
        reason = type(exc).__name__
    else:
        return None
    _log.warning("readiness_check_failed", check=name, reason=reason)
    return reason


def health_router(
    readiness_checks: Mapping[str, ReadinessCheck] | None = None, *, timeout: float = 2.0
) -> APIRouter:
    """``GET /healthz`` (alive) and ``GET /readyz`` (every check passes within `timeout` s)."""
    checks = dict(readiness_checks or {})
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        names = list(checks)
        reasons = await asyncio.gather(*(_run_check(n, checks[n], timeout) for n in names))
        failing = {name: reason for name, reason in zip(names, reasons, strict=True) if reason}
        if failing:
            problem = NotReady(
                f"Failing readiness checks: {', '.join(sorted(failing))}.",
                extensions={"failing_checks": failing},
            )
            return problem_response(problem, request)
        return JSONResponse({"status": "ready", "checks": dict.fromkeys(names, "ok")})

    return router


def instrument_app(
    app: FastAPI,
    *,
    readiness_checks: Mapping[str, ReadinessCheck] | None = None,
    readiness_timeout: float = 2.0,
    registry: CollectorRegistry = REGISTRY,
) -> None:
    """Add the request-context middleware and the ``/metrics``, ``/healthz``, ``/readyz``
    routes to `app` (the usual wiring of every service's bootstrap)."""
    app.add_middleware(RequestContextMiddleware)
    app.include_router(metrics_router(registry))
    app.include_router(health_router(readiness_checks, timeout=readiness_timeout))
