"""The plan of a data-subject request (DESIGN §5, R16): which participant gets which command.

Participants are the installed services whose data inventory is found through the entry-point
group ``byggrygg.data_inventory`` and that are privacy participants (identity, courses,
consent; reporting once it ships one). Legal holds are data (``legal_holds``): every erasure
command carries the subject's holds in force, and each participant keeps what a hold's
categories cover in its own inventory (``byggrygg_shared.participant.hold_covering``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Final
from uuid import UUID

from byggrygg_shared.catalogue import discover_inventories
from byggrygg_shared.contracts.privacy import (
    PARTICIPANTS,
    EraseSubject,
    ExportSubject,
    Hold,
    PrivacyCommand,
    RectifySubject,
)
from byggrygg_shared.inventory import DataCategory
from privacy_orchestrator.domain.records import RequestKind

# The category each rectifiable field (``RectifiableField``) belongs to, as identity's data
# inventory classifies it.
FIELD_CATEGORIES: Final[Mapping[str, DataCategory]] = {
    "name": DataCategory.IDENTITY,
    "email": DataCategory.CONTACT,
    "phone": DataCategory.CONTACT,
    "gender": DataCategory.PROFILE,
    "language": DataCategory.PROFILE,
}


@cache
def installed_participants() -> tuple[str, ...]:
    """The privacy participants whose inventories are installed, in the platform's order."""
    services = {inventory.service for inventory in discover_inventories()}
    return tuple(name for name in PARTICIPANTS if name in services)


@dataclass(frozen=True)
class Plan:
    """One command per participant, and the holds the erasure respects."""

    commands: tuple[PrivacyCommand, ...]
    holds: tuple[Hold, ...]


def plan_request(
    *,
    request_id: UUID,
    kind: RequestKind,
    subject_ref: str,
    organisation_id: UUID | None,
    participants: Sequence[str],
    holds: Sequence[Hold],
    issued_at: datetime,
    corrections: Mapping[str, str] | None = None,
) -> Plan:
    """The commands that carry out a request of `kind` for the subject. A rectification's
    `corrections` are key-ring tokens (field -> token) and travel as they are."""
    commands: list[PrivacyCommand] = []
    for participant in participants:
        common = {
            "request_id": request_id,
            "participant": participant,
            "subject_ref": subject_ref,
            "organisation_id": organisation_id,
            "issued_at": issued_at,
        }
        match kind:
            case RequestKind.ERASURE:
                commands.append(EraseSubject.model_validate({**common, "holds": list(holds)}))
            case RequestKind.ACCESS:
                commands.append(ExportSubject.model_validate(common))
            case RequestKind.RECTIFICATION:
                # Every participant gets every correction: each applies what it holds.
                commands.append(
                    RectifySubject.model_validate(
                        {**common, "corrections": dict(corrections or {})}
                    )
                )
    return Plan(commands=tuple(commands), holds=tuple(holds) if kind is RequestKind.ERASURE else ())


def subprocessor_fields(
    kind: RequestKind, categories: Sequence[DataCategory], corrected: Sequence[str]
) -> tuple[str, ...] | None:
    """Whether a sub-processor that received ``categories`` gets this request: None if not;
    else the corrected fields it is sent (empty for erasure and access)."""
    if kind is not RequestKind.RECTIFICATION:
        return ()
    fields = tuple(name for name in corrected if FIELD_CATEGORIES[name] in categories)
    return fields or None
