"""The simulator's HTTP API: the signed request endpoint, the admin endpoints, health.

``POST /privacy-requests`` is what the orchestrator calls (Standard Webhooks signed). Body:

    {"type": "privacy.erasure.requested" | "privacy.rectification.requested"
             | "privacy.access.requested",
     "timestamp": "<ISO 8601>",
     "data": {"request_id": "...", "subject_ref": "...", "callback_url": "http://...",
              "changes": {"phone": "..."}}}          # changes: rectification only

Answers: 202 accepted (then a signed callback, see ``confirmation``), 401 bad signature or
stale timestamp, 400 malformed, 409 a webhook-id already accepted, 422 a body it cannot act
on, 500 (mode ``fail``), 503 (mode ``fail-first``). Nothing is done unless it answers 202.
The admin endpoints (loopback only, unauthenticated: this is a test fixture) seed records, set
modes and show what was received.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .callbacks import CallbackSender, Delivery
from .holdings import Holdings, Record
from .modes import InvalidMode, Mode, ModeBook

PROCESSOR = {"name": "HeiHallo (Anders Heim)", "organisation_number": "992 797 010"}
ACTIONS = {
    "privacy.erasure.requested": "erasure",
    "privacy.rectification.requested": "rectification",
    "privacy.access.requested": "access",
}
MAX_BODY_BYTES = 64 * 1024
MAX_TEXT = 200


def problem(status: int, title: str, detail: str) -> JSONResponse:
    """An RFC 9457 problem document (the detail never echoes what was sent)."""
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


@dataclass(frozen=True, slots=True)
class PrivacyRequest:
    """A verified request's content."""

    action: str
    request_id: str
    subject_ref: str
    callback_url: str
    changes: Record


class UnusableRequest(ValueError):
    """The signed body is not a request the simulator can act on."""


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT:
        raise UnusableRequest(f"data.{name} must be a non-empty string")
    return value


def parse_request(payload: Any) -> PrivacyRequest:
    if not isinstance(payload, dict) or payload.get("type") not in ACTIONS:
        raise UnusableRequest(f"type must be one of {sorted(ACTIONS)}")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise UnusableRequest("data must be an object")
    callback_url = _text(data, "callback_url")
    if not callback_url.startswith(("http://", "https://")):
        raise UnusableRequest("data.callback_url must be an http(s) URL")
    changes = data.get("changes", {})
    if not isinstance(changes, dict):
        raise UnusableRequest("data.changes must be an object")
    return PrivacyRequest(
        action=ACTIONS[payload["type"]],
        request_id=_text(data, "request_id"),
        subject_ref=_text(data, "subject_ref"),
        callback_url=callback_url,
        changes=changes,
    )


@dataclass(slots=True)
class Received:
    """One accepted request as the admin API shows it: ids and outcome, no personal data."""

    webhook_id: str
    request_id: str
    action: str
    mode: str
    callback: Delivery


@dataclass(slots=True)
class Simulator:
    """The simulator's state: who signs and verifies, what it holds, how it behaves."""

    request_verifiers: list[Webhook]
    callbacks: CallbackSender
    holdings: Holdings
    modes: ModeBook
    seen_ids: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    # Confirmation webhook ids by request id: a request sent again is confirmed under the
    # same id, so the orchestrator's replay protection sees one confirmation.
    confirmation_ids: dict[str, str] = field(default_factory=dict)

    def count_refusal(self, status: int) -> None:
        self.refused[str(status)] = self.refused.get(str(status), 0) + 1

    def act(self, request: PrivacyRequest) -> dict[str, Any]:
        """Carry out the request on the holdings; the confirmation's ``data``."""
        outcome: str
        result: dict[str, Any] = {}
        if request.action == "erasure":
            removed = self.holdings.erase(request.subject_ref)
            outcome = "erased" if removed is not None else "not_held"
            result["counts"] = {"records": int(removed is not None), "fields": len(removed or {})}
        elif request.action == "rectification":
            held = self.holdings.get(request.subject_ref) is not None
            changed = self.holdings.rectify(request.subject_ref, request.changes)
            outcome = "rectified" if held else "not_held"
            result["counts"] = {"records": int(changed > 0), "fields": changed}
        else:
            record = self.holdings.get(request.subject_ref)
            outcome = "exported" if record is not None else "not_held"
            result["counts"] = {"records": int(record is not None), "fields": len(record or {})}
            # The access export is the one answer that carries the data itself (R14).
            result["export"] = record or {}
        return {
            "request_id": request.request_id,
            "subject_ref": request.subject_ref,
            "action": request.action,
            "outcome": outcome,
            **result,
            "completed_at": datetime.now(UTC).isoformat(),
            "processor": PROCESSOR,
        }


def verify_any(keys: list[Webhook], body: bytes, headers: dict[str, str]) -> Any:
    """The parsed body if any key verifies it (several keys while a secret is rotated)."""
    failure = WebhookVerificationError("no key")
    for key in keys:
        try:
            return key.verify(body, headers)
        except WebhookVerificationError as error:
            failure = error
    raise failure


def confirmation(action: str, data: dict[str, Any]) -> bytes:
    """The callback body, Standard Webhooks' recommended shape (type, timestamp, data)."""
    return json.dumps(
        {
            "type": f"privacy.{action}.completed",
            "timestamp": datetime.now(UTC).isoformat(),
            "data": data,
        },
        separators=(",", ":"),
    ).encode()


async def privacy_request(request: Request) -> Response:
    sim: Simulator = request.app.state.simulator
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        sim.count_refusal(413)
        return problem(413, "Payload Too Large", "the request body is too large")
    try:
        payload = verify_any(sim.request_verifiers, body, dict(request.headers))
    except WebhookVerificationError:
        sim.count_refusal(401)
        return problem(401, "Unauthorized", "the webhook signature or timestamp is not valid")
    except (ValueError, UnicodeDecodeError):
        # Signed, but not JSON (or a header the library could not split).
        sim.count_refusal(400)
        return problem(400, "Bad Request", "the request is not a signed JSON document")
    try:
        parsed = parse_request(payload)
    except UnusableRequest as error:
        sim.count_refusal(422)
        return problem(422, "Unprocessable Content", str(error))
    mode = sim.modes.mode_for(parsed.request_id, parsed.subject_ref)
    if mode.name == "fail":
        sim.count_refusal(500)
        return problem(500, "Internal Server Error", "the simulator is in mode fail")
    if sim.modes.refuse_delivery(parsed.request_id, parsed.subject_ref):
        sim.count_refusal(503)
        return problem(
            503, "Service Unavailable", "the simulator refuses this delivery (fail-first)"
        )
    webhook_id = request.headers["webhook-id"]
    if webhook_id in sim.seen_ids:
        sim.count_refusal(409)
        return problem(409, "Conflict", "this webhook-id was already accepted")
    sim.seen_ids.add(webhook_id)
    data = sim.act(parsed)
    if parsed.request_id not in sim.confirmation_ids:
        sim.confirmation_ids[parsed.request_id] = f"msg_{uuid.uuid4().hex}"
    delivery = Delivery(webhook_id=sim.confirmation_ids[parsed.request_id])
    sim.received.append(Received(webhook_id, parsed.request_id, parsed.action, str(mode), delivery))
    sim.callbacks.send(
        parsed.callback_url,
        confirmation(parsed.action, data),
        delivery,
        delay=mode.delay_seconds,
        forged=mode.name == "wrong-signature",
    )
    print(
        f"subprocessor-sim: accepted {parsed.action} request {parsed.request_id} "
        f"(webhook {webhook_id}, mode {mode})",
        flush=True,
    )
    return JSONResponse({"request_id": parsed.request_id, "status": "accepted"}, status_code=202)


async def set_mode(request: Request) -> Response:
    sim: Simulator = request.app.state.simulator
    try:
        body = await request.json()
        mode = Mode.parse(str(body["mode"]))
    except (ValueError, KeyError, TypeError, InvalidMode) as error:
        return problem(400, "Bad Request", f"expected {{'mode': ...}}: {error}")
    request_id, subject_ref = body.get("request_id"), body.get("subject_ref")
    sim.modes.set(
        mode,
        request_id=str(request_id) if request_id is not None else None,
        subject_ref=str(subject_ref) if subject_ref is not None else None,
    )
    return JSONResponse(sim.modes.describe())


async def get_mode(request: Request) -> Response:
    sim: Simulator = request.app.state.simulator
    return JSONResponse(sim.modes.describe())


async def subject(request: Request) -> Response:
    sim: Simulator = request.app.state.simulator
    subject_ref = request.path_params["subject_ref"]
    if request.method == "PUT":
        try:
            record = await request.json()
        except ValueError:
            record = None
        if not isinstance(record, dict):
            return problem(400, "Bad Request", "a record is a JSON object")
        sim.holdings.put(subject_ref, record)
        return Response(status_code=204)
    held = sim.holdings.get(subject_ref)
    if held is None:
        return problem(404, "Not Found", "nothing is held about this subject")
    return JSONResponse(held)


async def received(request: Request) -> Response:
    sim: Simulator = request.app.state.simulator
    return JSONResponse(
        {
            "accepted": [
                {
                    "webhook_id": item.webhook_id,
                    "request_id": item.request_id,
                    "action": item.action,
                    "mode": item.mode,
                    "callback": {
                        "webhook_id": item.callback.webhook_id,
                        "outcome": item.callback.outcome,
                        "attempts": item.callback.attempts,
                        "last_status": item.callback.last_status,
                    },
                }
                for item in sim.received
            ],
            "refused": sim.refused,
        }
    )


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "processor": PROCESSOR})


def build_app(simulator: Simulator) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.simulator = simulator
        try:
            yield
        finally:
            await simulator.callbacks.close()

    return Starlette(
        routes=[
            Route("/privacy-requests", privacy_request, methods=["POST"]),
            Route("/admin/mode", get_mode, methods=["GET"]),
            Route("/admin/mode", set_mode, methods=["PUT"]),
            Route("/admin/subjects/{subject_ref}", subject, methods=["GET", "PUT"]),
            Route("/admin/received", received, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
