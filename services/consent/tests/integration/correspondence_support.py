"""Helpers of the correspondence and complaint tests: `Env` (the running service and its
callers, built by the ``consent_env`` fixture in ``conftest.py``) and request bodies."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from consent.bootstrap import Runtime

from ....service_testing import MovableClock
from .support import MailSink


@dataclass
class Env:
    """The running service and the callers the tests use."""

    runtime: Runtime
    http: httpx.AsyncClient
    clock: MovableClock
    smtp: MailSink
    staff: dict[str, str]
    token_for: Callable[..., dict[str, str]]

    async def count(self, table: str) -> int:
        value: int = await self.runtime.pool.fetchval(f"SELECT count(*) FROM {table}")
        return value

    async def send_mail(self) -> int:
        return await self.runtime.mail_sender.send_due()


def email_body(
    organisation_id: uuid.UUID, /, subject_ref: str | None = None, **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "organisation_id": str(organisation_id),
        "email_address": "kari.nordmann@example.no",
        "messages": [
            {
                "direction": "inbound",
                "sent_at": "2025-03-01T09:30:00+01:00",
                "subject": "Spørsmål om kurs",
                "text": "Hei!\nKan dere sende meg kursbeviset?",
            }
        ],
    }
    if subject_ref is not None:
        body["subject_ref"] = subject_ref
    body.update(changes)
    return body


def phone_body(
    organisation_id: uuid.UUID, /, subject_ref: str | None = None, **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "organisation_id": str(organisation_id),
        "phone_number": "+47 911 22 333",
        "person_name": "Kari Nordmann",
        "summary": "Ringte om innlogging.\nLøst i samtalen.",
        "contacted_at": "2025-03-02T10:00:00+01:00",
    }
    if subject_ref is not None:
        body["subject_ref"] = subject_ref
    body.update(changes)
    return body
