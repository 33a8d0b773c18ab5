"""One signed HTTP attempt of a privacy request to a sub-processor (R13, Standard Webhooks).

The body is ``{"type": "privacy.<action>.requested", "timestamp", "data": {...}}``
(docs/runbook.md, "Sub-processor simulator"); the headers come from
`byggrygg_shared.webhooks.WebhookSigner` with the secrets in the sub-processor's secret file,
checked at each attempt (re-read when it changed: ``secret_files``) so a rotated file takes
effect without a restart. The ``webhook-id`` is the delivery's, the same in every retry, so the
sub-processor can answer a repeat with 409.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from byggrygg_shared.sources import Clock
from byggrygg_shared.webhooks import WebhookSigner
from privacy_orchestrator.adapters.secret_files import SECRET_FILES
from privacy_orchestrator.domain.subprocessors import AttemptResult, PrivacyAction


def request_body(
    *,
    action: PrivacyAction,
    request_id: UUID,
    subject_ref: str,
    callback_url: str,
    changes: dict[str, Any] | None,
    now: datetime,
) -> bytes:
    """The JSON body of a privacy request to a sub-processor."""
    data: dict[str, Any] = {
        "request_id": str(request_id),
        "subject_ref": subject_ref,
        "callback_url": callback_url,
    }
    if changes is not None:
        data["changes"] = changes
    payload = {"type": f"privacy.{action}.requested", "timestamp": now.isoformat(), "data": data}
    return json.dumps(payload, separators=(",", ":")).encode()


class WebhookClient:
    """Sends signed requests through one shared httpx client."""

    def __init__(self, http: httpx.AsyncClient, *, clock: Clock) -> None:
        self._http = http
        self._clock = clock

    async def send(
        self, *, endpoint_url: str, secret_file: Path, webhook_id: str, body: bytes
    ) -> AttemptResult:
        """POST ``body`` signed now; the status, or the network error's class name."""
        try:
            secrets = await SECRET_FILES.read(secret_file)
        except (OSError, ValueError) as error:
            # A missing or bad secret file: an operator's fix, reported like a network error.
            return AttemptResult(status=None, error=f"secret file: {type(error).__name__}")
        headers = WebhookSigner(secrets, clock=self._clock).headers(body, webhook_id=webhook_id)
        try:
            response = await self._http.post(
                endpoint_url,
                content=body,
                headers={**headers, "content-type": "application/json"},
            )
        except httpx.HTTPError as error:
            return AttemptResult(status=None, error=type(error).__name__)
        return AttemptResult(status=response.status_code)

    async def aclose(self) -> None:
        await self._http.aclose()
