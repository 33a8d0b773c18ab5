"""What consent knows of customers (R9): when an organisation's contract ended, from identity's
``ContractEnded``, which starts the retention clock of its correspondence.

Consent keeps no copy of the organisation otherwise: no row means "still a customer". The
handler is idempotent (``inbox.claim`` in the same transaction as the effect), so a redelivered
event changes nothing.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from byggrygg_shared.inbox import claim
from consent.domain.correspondence import retain_until
from consent.service_layer.context import Dependencies

CONTRACT_ENDED_CONSUMER = "consent.correspondence-retention"


async def handle_contract_ended(
    *,
    deps: Dependencies,
    event_id: str,
    organisation_id: UUID,
    ended_on: date,
    legal_dispute: bool,
) -> bool:
    """Record the end of the customer relationship and date every item's retention (R9).

    Each item is kept ``correspondence_retention_years`` after the contract ended (or after it
    was logged, if later). A legal dispute at contract end (R2) is a legal claim: it holds the
    organisation's correspondence until identity reports it resolved (a later event). Returns
    False when the event was already applied.
    """
    years = deps.policy.correspondence_retention_years
    async with deps.unit_of_work() as conn:
        if not await claim(conn, consumer=CONTRACT_ENDED_CONSUMER, event_id=event_id):
            return False
        await conn.execute(
            "INSERT INTO consent_customers (organisation_id, contract_ended_on, legal_dispute, "
            "updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (organisation_id) DO UPDATE SET "
            "contract_ended_on = EXCLUDED.contract_ended_on, "
            "legal_dispute = EXCLUDED.legal_dispute, updated_at = EXCLUDED.updated_at",
            organisation_id,
            ended_on,
            legal_dispute,
            deps.clock(),
        )
        rows = await conn.fetch(
            "SELECT correspondence_id, logged_at FROM correspondence_items "
            "WHERE organisation_id = $1",
            organisation_id,
        )
        await conn.executemany(
            "UPDATE correspondence_items SET retain_until = $2 WHERE correspondence_id = $1",
            [
                (
                    row["correspondence_id"],
                    retain_until(
                        contract_ended_on=ended_on, logged_on=row["logged_at"].date(), years=years
                    ),
                )
                for row in rows
            ],
        )
    return True
