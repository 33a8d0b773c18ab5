"""Automatic erasure triggers (R2, R6) and the contract end's export offer (art. 28(3)(g)) as
rules, without I/O.

An erasure no person asked for is filed when identity reports a licence revoked or a
subscription cancelled (one subject), when an organisation's contract ended (every subject
of the organisation), and as a follow-up of an erasure that kept something once the hold that
kept it is released (a complaint resolved, R21; staff releasing a hold). A complaint holds the
categories its areas hold in other services (``COMPLAINT_HOLD_CATEGORIES``).

A contract end first offers the organisation's controller its data back for a configurable
period; erasure starts when the offer runs out, or at once when the controller's contact
person declines it.

Each trigger has an id: the event's id (identity's, consent's; a released hold's own id), or
for a contract end one id per subject
derived from the contract end and the subject (``contract_subject_trigger``), so filing again
after a crash finds the trigger already used and files nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final
from uuid import UUID, uuid5

from privacy_orchestrator.domain.errors import OrchestratorError


class Trigger(StrEnum):
    """What started an automatic erasure; a code in the request and its completion record."""

    LICENCE_REVOKED = "licence_revoked"
    SUBSCRIPTION_CANCELLED = "subscription_cancelled"
    CONTRACT_ENDED = "contract_ended"
    # A follow-up erasure of what an earlier one kept: the complaint that held it was resolved
    # (R21), staff released a hold, or the legal dispute that kept an ended customer's
    # correspondence was resolved (R2, R9).
    COMPLAINT_RESOLVED = "complaint_resolved"
    HOLD_RELEASED = "hold_released"
    LEGAL_CLAIM_RESOLVED = "legal_claim_resolved"


# A latest erasure in one of these states kept nothing a released hold could concern: no
# follow-up (any other state kept something, or is still open and gets it when it ends).
ENDED_KEEPING_NOTHING: Final = frozenset({"completed", "rejected"})

# The triggers that erase what an earlier erasure kept. One that finds the subject's erasure
# still open is recorded against it and filed when that erasure ends keeping something.
FOLLOW_UP_TRIGGERS: Final = frozenset(
    {Trigger.COMPLAINT_RESOLVED, Trigger.HOLD_RELEASED, Trigger.LEGAL_CLAIM_RESOLVED}
)


# What a complaint's data areas (consent's ``DataAreaName``) hold in OTHER services, as the
# inventory's categories on a legal hold (R16, R21). Consent enforces its own open complaints
# on correspondence, the newsletter and cookie choices itself, and an organisation's data is
# not a person's: those areas need no hold from the orchestrator (a `contact` hold would make
# identity keep the login e-mail and phone for a complaint about a mail thread). A hold names
# categories, not services, so a `content` hold also makes consent keep the person's
# correspondence (its categories include content) while it lasts.
COMPLAINT_HOLD_CATEGORIES: Final[Mapping[str, tuple[str, ...]]] = {
    "course_answers": ("content",),
    "profile": ("profile",),
    "correspondence": (),
    "newsletter": (),
    "cookie_consent": (),
    "organisation": (),
}

_COMPLAINT_HOLDS: Final = UUID("6f1d7c52-3b4e-5a8f-9c21-0d5e6b7a8c90")


def complaint_hold_categories(concerns: Iterable[str]) -> list[str]:
    """The hold's categories for a complaint about these areas (sorted; [] for no hold)."""
    return sorted({c for area in concerns for c in COMPLAINT_HOLD_CATEGORIES.get(area, ())})


def complaint_hold_id(complaint_id: UUID) -> UUID:
    """The id of the hold a complaint places (the same for every delivery of its events)."""
    return uuid5(_COMPLAINT_HOLDS, str(complaint_id))


class ContractEndState(StrEnum):
    """``export_offered -> erasing -> erasure_filed``."""

    EXPORT_OFFERED = "export_offered"  # the controller may take its data back (art. 28(3)(g))
    ERASING = "erasing"  # the scheduler is filing the subjects' erasures, batch by batch
    ERASURE_FILED = "erasure_filed"  # every known subject has an erasure request


class OfferOutcome(StrEnum):
    EXPIRED = "expired"  # the offer period ran out
    DECLINED = "declined"  # the contact person ended it early


class ExportOfferClosed(OrchestratorError):
    """The contract end's export offer is over: erasure has started."""


def offer_until(*, ended_on: date, recorded_at: datetime, days: int) -> datetime:
    """When the export offer runs out: ``days`` days after the contract ended, counted from when
    the orchestrator learned of it if that was later (the controller gets the whole period)."""
    ended = datetime.combine(ended_on, time(0), tzinfo=UTC)
    return max(ended, recorded_at) + timedelta(days=days)


def offer_is_over(*, state: ContractEndState, offer_until: datetime, now: datetime) -> bool:
    return state is not ContractEndState.EXPORT_OFFERED or now >= offer_until


def require_offer_open(state: ContractEndState, offer_until: datetime, now: datetime) -> None:
    """Declining is possible only while the offer runs."""
    if offer_is_over(state=state, offer_until=offer_until, now=now):
        raise ExportOfferClosed("the export offer is over")


def contract_subject_trigger(contract_end_id: UUID, subject_ref: str) -> UUID:
    """The trigger id of one subject's erasure at one contract end (the same every time)."""
    return uuid5(contract_end_id, subject_ref)
