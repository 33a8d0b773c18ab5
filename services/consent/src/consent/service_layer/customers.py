"""What consent knows of customers (R9): when an organisation's contract ended, from identity's
``ContractEnded``, which starts the retention clock of its correspondence, and whether a legal
dispute left open at the end still keeps that correspondence (until identity's
``RetentionClaimSettled``).

Consent keeps no copy of the organisation otherwise: no row means "still a customer". The
handler is idempotent (``inbox.claim`` in the same transaction as the effect), so a redelivered
event changes nothing.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from byggrygg_shared.contracts.correspondence import LegalClaimResolved
from byggrygg_shared.inbox import claim
from consent.adapters import correspondence_queries as queries
from consent.domain.correspondence import retain_until
from consent.service_layer.context import Dependencies
from consent.service_layer.correspondence_erasure import (
    destroy_scopes,
    reprocess_pending_deletions,
)

CONTRACT_ENDED_CONSUMER = "consent.correspondence-retention"
CLAIM_SETTLED_CONSUMER = "consent.legal-claim"


def legal_claim_stream(organisation_id: UUID) -> str:
    return f"legal-claim-{organisation_id}"


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


async def handle_legal_dispute_settled(
    *, deps: Dependencies, event_id: str, organisation_id: UUID, settled_on: date
) -> bool:
    """The legal dispute that kept an ended customer's correspondence was resolved (R2, R9):
    the hold goes, the persons' pending deletion requests (R10) are processed again, and
    ``LegalClaimResolved`` tells the privacy orchestrator, which erases what earlier erasures
    kept for the dispute. One transaction, after the inbox claim; False when the event was
    applied before or no dispute of the organisation was held (nothing to release)."""
    async with deps.unit_of_work() as conn:
        if not await claim(conn, consumer=CLAIM_SETTLED_CONSUMER, event_id=event_id):
            return False
        released = await conn.fetchval(
            "UPDATE consent_customers SET legal_dispute = false, updated_at = $2 "
            "WHERE organisation_id = $1 AND legal_dispute RETURNING true",
            organisation_id,
            deps.clock(),
        )
        if not released:
            return False
        scopes: list[str] = []
        for subject_ref in await queries.persons_with_pending_deletions(conn, organisation_id):
            await queries.lock_person(conn, subject_ref)
            scopes += await reprocess_pending_deletions(conn, deps, subject_ref)
        stream_id = legal_claim_stream(organisation_id)
        await deps.store.append(
            conn,
            stream_id=stream_id,
            expected_version=None,  # at the stream's end, without reading its version first
            events=[LegalClaimResolved(organisation_id=organisation_id, settled_on=settled_on)],
            metadata=deps.metadata(organisation_id=organisation_id),
        )
        await destroy_scopes(deps, scopes)
    return True
