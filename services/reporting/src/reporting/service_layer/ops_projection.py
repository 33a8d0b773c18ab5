"""The ops read model's projection: one function applies one event of the privacy topics.

``privacy.requests.v1`` (``RequestStateChanged``) keeps the latest state of every request
(out-of-order safe by ``changed_at``) and ``privacy.replies.v1`` (``ParticipantReplied``)
when each participant replied. Both upserts are idempotent, so a redelivery or a replay
leaves the rows as they were; the live subscriber and the rebuild call the same function
(``apply_ops_contract``, through ``service_layer.projection``'s batches).
"""

from __future__ import annotations

from typing import Final

import asyncpg

from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.contracts.privacy import ParticipantReplied, RequestStateChanged
from byggrygg_shared.contracts.registry import UnknownEventType
from byggrygg_shared.envelope import ReceivedEvent
from reporting.adapters.ops_store import save_reply, save_request_state

OPS_EVENT_TYPES: Final = frozenset({RequestStateChanged.event_type, ParticipantReplied.event_type})


async def apply_ops_event(conn: asyncpg.Connection, event: ReceivedEvent) -> bool:
    """Apply one event of the privacy topics to the ops read model; False if it is not one of
    the ops events (passed over). Raises on a malformed event of a known type (dead letter)."""
    try:
        if event.event_type not in OPS_EVENT_TYPES:
            return False
    except UnknownEventType:
        return False
    return await apply_ops_contract(conn, event.contract())


async def apply_ops_contract(conn: asyncpg.Connection, contract: IntegrationEvent) -> bool:
    """Apply one decoded ops event (the batches of ``service_layer.projection`` call this);
    False if it is not one."""
    if isinstance(contract, RequestStateChanged):
        await save_request_state(conn, contract)
    elif isinstance(contract, ParticipantReplied):
        await save_reply(conn, contract)
    else:
        return False
    return True
