"""R2's clocks on an ended customer's own data, run by identity itself (as consent runs R9's).

When the contract has ended the contact details go; the payment information goes once no
retention claim keeps it (bookkeeping until its date, a debt or a dispute until staff settle
it). The rule is the aggregate's (``Organisation.due_erasures``); this module applies it:

- ``organisations.erase_due_organisation_data`` in the caller's unit of work: the
  ``DataErased`` events (projection cleared by ``project_organisation``) and the key scopes
  destroyed, so the fields of ``OrganisationRegistered`` read as erased in every copy of the
  event. Ending a contract runs it at once.
- ``handle_settle_retention_claim``: staff end a debt or dispute claim; what that frees is
  erased in the same transaction.
- ``OrganisationRetentionWorker``: every ``interval`` it erases what came due by the date
  alone (a contract end dated ahead, the end of the bookkeeping period). Each organisation
  in a transaction of its own; a conflicting write (``ConcurrentAppend``) leaves it for the
  next pass.

"Today" is the dependencies' clock, so tests move time instead of waiting five years.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

import asyncpg

from byggrygg_shared.background import every
from byggrygg_shared.eventstore import ConcurrentAppend
from identity.domain.organisation import OrganisationData
from identity.domain.values import RetentionReason
from identity.service_layer.access import require_staff
from identity.service_layer.context import Actor, Dependencies
from identity.service_layer.organisations import (
    erase_due_organisation_data,
    load_organisation,
    save_organisation,
)

logger = logging.getLogger(__name__)


async def handle_settle_retention_claim(
    *, deps: Dependencies, actor: Actor, organisation_id: UUID, reason: RetentionReason
) -> tuple[OrganisationData, ...]:
    """Staff record that a debt was settled or a dispute resolved (R2); what no claim keeps
    any more is erased at once. The parts erased."""
    require_staff(actor)
    today = deps.clock().date()
    async with deps.unit_of_work() as conn:
        organisation = await load_organisation(conn, deps, organisation_id)
        organisation.settle_claim(reason=reason, on=today, settled_by=actor.user_id)
        erased = await erase_due_organisation_data(deps, organisation, today)
        await save_organisation(conn, deps, organisation, organisation_id)
    return erased


@dataclass(frozen=True)
class RetentionPass:
    """What one pass of the clocks erased, by part (counts only: no ids in logs)."""

    contact_details: int = 0
    payment_information: int = 0


async def _pending(conn: asyncpg.Connection, today: date) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT organisation_id FROM organisations WHERE status = 'ended' AND ended_on <= $1 "
        "AND (contact_details_erased_on IS NULL OR payment_information_erased_on IS NULL) "
        "ORDER BY organisation_id",
        today,
    )
    return [row["organisation_id"] for row in rows]


async def run_retention_clocks(deps: Dependencies) -> RetentionPass:
    """Erase every ended customer's data whose clock ran out by today."""
    today = deps.clock().date()
    async with deps.pool.acquire() as conn:
        pending = await _pending(conn, today)
    erased: list[OrganisationData] = []
    for organisation_id in pending:
        try:
            async with deps.unit_of_work() as conn:
                organisation = await load_organisation(conn, deps, organisation_id)
                parts = await erase_due_organisation_data(deps, organisation, today)
                if parts:
                    await save_organisation(conn, deps, organisation, organisation_id)
        except ConcurrentAppend:
            continue  # written meanwhile (a settlement did the work): the next pass re-checks
        erased.extend(parts)
    return RetentionPass(
        contact_details=erased.count(OrganisationData.CONTACT_DETAILS),
        payment_information=erased.count(OrganisationData.PAYMENT_INFORMATION),
    )


class OrganisationRetentionWorker:
    """Runs R2's clocks every ``interval`` until stopped (a task of ``serve``)."""

    def __init__(self, *, deps: Dependencies, interval: timedelta) -> None:
        self._deps = deps
        self._interval = interval

    async def run_once(self) -> RetentionPass:
        result = await run_retention_clocks(self._deps)
        if result.contact_details or result.payment_information:
            logger.info(
                "organisation retention: contact details of %d, payment information of %d "
                "ended customers erased",
                result.contact_details,
                result.payment_information,
            )
        return result

    async def run(self, stop: asyncio.Event) -> None:
        """A pass every ``interval``; a failed one is logged and the next retries (each
        organisation is erased in one transaction or not at all)."""
        await every(
            self._interval.total_seconds(),
            self.run_once,
            stop,
            name="organisation retention",
            logger=logger,
            survives=(OSError, asyncpg.PostgresError),
        )
