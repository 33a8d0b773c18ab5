"""Checkpoints of the completion records' chain head, published on Kafka (R19): anchors kept
outside the orchestrator's database without anyone having to remember to take them.

Every ``poll_interval`` seconds, if the chain grew since the last checkpoint, one pass signs
the head (``domain.anchors.build_checkpoint``) and appends ``RecordChainCheckpointed`` to the
outbox (stream ``record-checkpoints``), in one transaction; the relay puts it on
``privacy.record-checkpoints.v1`` (retention unlimited). The event's data is a checkpoint
file: ``verify-records --anchor`` reads it as it is. Whoever removes records from the chain's
end and rewinds the head in the database then still leaves the published checkpoint behind.

Two orchestrators (or two passes) never publish the same head twice: a pass takes a
transaction-scoped advisory lock first, and the stream's expected version refuses a second
append of the same version.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from byggrygg_shared.background import every
from byggrygg_shared.contracts.privacy import RecordChainCheckpointed
from byggrygg_shared.db import transaction
from byggrygg_shared.envelope import EventMetadata
from privacy_orchestrator.domain.anchors import build_checkpoint
from privacy_orchestrator.service_layer.context import Dependencies

logger = logging.getLogger(__name__)

CHECKPOINT_STREAM: Final = "record-checkpoints"
_LOCK: Final = "SELECT pg_advisory_xact_lock(hashtextextended('record-checkpoints', 0))"


async def publish_checkpoint(deps: Dependencies) -> RecordChainCheckpointed | None:
    """Sign and publish the chain head if it moved past the last checkpoint; the event
    published, or None (an empty chain, or nothing new since)."""
    async with transaction(deps.pool) as conn:
        await conn.execute(_LOCK)
        head = await deps.records.head(conn)
        if head.sequence <= await deps.records.last_checkpointed(conn, CHECKPOINT_STREAM):
            return None
        document = build_checkpoint(head, signer=deps.signer, taken_at=deps.clock())
        event = RecordChainCheckpointed.model_validate_json(document)
        await deps.outbox.append(
            conn,
            stream_id=CHECKPOINT_STREAM,
            expected_version=None,  # at the stream's end, without reading its version first
            events=[event],
            metadata=EventMetadata.new(clock=deps.clock, new_id=deps.ids.new_id),
        )
    logger.info("record chain checkpoint published at record %d", head.sequence)
    return event


class CheckpointPublisher:
    """Publishes a checkpoint every ``poll_interval`` seconds when the chain grew."""

    def __init__(self, deps: Dependencies, *, poll_interval: float = 3600.0) -> None:
        self._deps = deps
        self._poll_interval = poll_interval

    async def publish(self) -> RecordChainCheckpointed | None:
        return await publish_checkpoint(self._deps)

    async def run(self, stop: asyncio.Event) -> None:
        """The background worker; it outlives any one bad pass."""
        await every(
            self._poll_interval, self.publish, stop, name="record checkpoint pass", logger=logger
        )
