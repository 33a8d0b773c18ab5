"""Sub-processors (R12, R13): the register's entries, the privacy actions sent to them, the
delivery states of those requests and the back-off between attempts.

A sub-processor is a company, so nothing here is personal data except the ``subject_ref`` a
request names its person by (a pseudonym).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Final
from uuid import UUID

from byggrygg_shared.inventory import DataCategory
from privacy_orchestrator.domain.errors import InvalidSubProcessor

# Brønnøysundregistrene's weights for the MOD11 check digit of an organisation number.
_WEIGHTS: Final = (3, 2, 7, 6, 5, 4, 3, 2)

HEIHALLO_NAME: Final = "HeiHallo (Anders Heim)"
HEIHALLO_ORGANISATION_NUMBER: Final = "992797010"


def organisation_number(raw: str) -> str:
    """The nine digits of a valid Norwegian organisation number ("992 797 010" accepted)."""
    value = raw.replace(" ", "").strip()
    if len(value) != 9 or not value.isascii() or not value.isdigit():
        raise InvalidSubProcessor("an organisation number is exactly nine digits")
    remainder = sum(int(d) * w for d, w in zip(value[:8], _WEIGHTS, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    if remainder == 1 or check != int(value[8]):
        raise InvalidSubProcessor("the organisation number's check digit is wrong")
    return value


class PrivacyAction(StrEnum):
    """What a sub-processor is asked to do (its request type is ``privacy.<action>.requested``)."""

    ERASURE = "erasure"
    RECTIFICATION = "rectification"
    ACCESS = "access"


class DeliveryState(StrEnum):
    """Where one request to one sub-processor stands.

    ``pending`` (not yet accepted; retried with back-off) -> ``delivered`` (accepted, waiting
    for the signed callback; sent again as a new message, back to ``pending``, when no callback
    came within ``resend_unconfirmed_after``) -> ``confirmed``. ``escalated``: attempts or time
    ran out, or the sub-processor refused the request; it shows in the API and the metrics, and
    a late confirmation still moves it to ``confirmed``. A request never completes silently
    (R13). ``closed``: an operator closed an escalated one with a written reason (the request
    may then complete, partially); nothing is sent any more.
    """

    PENDING = "pending"
    DELIVERED = "delivered"
    CONFIRMED = "confirmed"
    ESCALATED = "escalated"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SubProcessor:
    """One entry of the register (R12). The secrets are files named here, never stored."""

    id: UUID
    name: str
    organisation_number: str
    data_categories: tuple[DataCategory, ...]
    agreement_reference: str
    agreement_date: date
    endpoint_url: str
    signing_secret_file: Path
    callback_secret_file: Path
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How hard the delivery worker tries before it escalates."""

    max_attempts: int = 8
    first_backoff: timedelta = timedelta(seconds=1)
    max_backoff: timedelta = timedelta(minutes=5)
    # From the first write: not accepted by then -> escalated.
    delivery_deadline: timedelta = timedelta(hours=24)
    # From acceptance: no signed callback by then -> escalated.
    confirmation_deadline: timedelta = timedelta(days=3)
    # From the last attempt: accepted but no signed callback by then -> sent again under a new
    # webhook-id (their callback may have been lost while we were down, R13).
    resend_unconfirmed_after: timedelta = timedelta(hours=1)
    timeout: timedelta = timedelta(seconds=10)

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt: doubled each time, capped."""
        grown: timedelta = self.first_backoff * 2 ** max(attempts - 1, 0)
        return min(grown, self.max_backoff)


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What one HTTP attempt got: a status, or a network error's class name."""

    status: int | None
    error: str | None = None

    @property
    def accepted(self) -> bool:
        # 409: the sub-processor already accepted this webhook-id (an earlier attempt got
        # through but its answer was lost): as good as 2xx.
        return self.status is not None and (200 <= self.status < 300 or self.status == 409)

    @property
    def refused(self) -> bool:
        """A 4xx that retrying cannot change (bad request, bad signature, cannot act on)."""
        return (
            self.status is not None
            and 400 <= self.status < 500
            and self.status not in {408, 409, 425, 429}
        )


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A sub-processor's verified callback for one request (what the workflow reads)."""

    subprocessor_id: UUID
    subprocessor_name: str
    organisation_number: str
    request_id: UUID
    action: PrivacyAction
    outcome: str
    records: int
    fields: int
    completed_at: datetime | None
    confirmed_at: datetime
    webhook_id: str
    export: dict[str, object] | None
