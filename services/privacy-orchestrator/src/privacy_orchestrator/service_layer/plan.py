"""The plan of a data-subject request (DESIGN §5, R16): which participant gets which command.

Participants are the installed services whose data inventory is found through the entry-point
group ``byggrygg.data_inventory`` and that are privacy participants (identity, courses,
consent; reporting once it ships one). Legal holds are data (``legal_holds``): every erasure
command carries the subject's holds in force, and each participant keeps what a hold's
categories cover in its own inventory (``byggrygg_shared.participant.hold_covering``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from uuid import UUID

from byggrygg_shared.catalogue import discover_inventories
from byggrygg_shared.contracts.privacy import (
    PARTICIPANTS,
    EraseSubject,
    ExportSubject,
    Hold,
    PrivacyCommand,
)
from privacy_orchestrator.domain.records import RequestKind
from privacy_orchestrator.service_layer.errors import KindNotSupportedYet


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
) -> Plan:
    """The commands that carry out a request of `kind` for the subject."""
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
                # The corrections must travel as key-ring tokens: not wired yet.
                raise KindNotSupportedYet(kind.value)
    return Plan(commands=tuple(commands), holds=tuple(holds) if kind is RequestKind.ERASURE else ())
