"""Consent's Kafka subscribers: each translates a message into a command.

`register_consumers(runtime)` returns the function `byggrygg_shared.subscriptions` calls on
every new broker to add the subscribers; bootstrap runs them beside the API. Handlers are
idempotent: ``inbox.claim`` in the effect's transaction.

- ``identity.organisation.v1``: ``ContractEnded`` starts the R9 retention clock of the
  organisation's correspondence, and ``RetentionClaimSettled`` of a ``legal_dispute`` ends
  the hold the dispute placed on it (``service_layer.customers``). Other events of the topic
  are not consent's business and are passed over.
- ``privacy.commands.consent.v1``: the privacy orchestrator's commands, run by the shared
  ``byggrygg_shared.participant.Participant`` with consent's effects
  (``service_layer.privacy_commands``): inbox claim, effects and reply in one transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.broker.registrator import KafkaRegistrator

from byggrygg_shared.contracts import identity as identity_contracts
from byggrygg_shared.envelope import ReceivedEvent
from byggrygg_shared.messaging import event_from_message
from byggrygg_shared.participant import register_participant
from byggrygg_shared.subscriptions import RegisterSubscribers
from consent.service_layer.context import Dependencies
from consent.service_layer.customers import handle_contract_ended, handle_legal_dispute_settled

if TYPE_CHECKING:
    from consent.bootstrap import Runtime

GROUP_ID = "consent"


_ORGANISATION_EVENTS = frozenset(
    {
        identity_contracts.ContractEnded.ce_type(),
        identity_contracts.RetentionClaimSettled.ce_type(),
    }
)


async def on_organisation_event(deps: Dependencies, event: ReceivedEvent) -> None:
    """Apply one event of ``identity.organisation.v1`` (a contract end, a dispute settled)."""
    if event.type not in _ORGANISATION_EVENTS:
        return
    match event.contract():
        case identity_contracts.ContractEnded() as ended:
            await handle_contract_ended(
                deps=deps,
                event_id=event.id,
                organisation_id=ended.organisation_id,
                ended_on=ended.ended_on,
                legal_dispute=any(claim.reason == "legal_dispute" for claim in ended.retention),
            )
        case identity_contracts.RetentionClaimSettled(reason="legal_dispute") as settled:
            await handle_legal_dispute_settled(
                deps=deps,
                event_id=event.id,
                organisation_id=settled.organisation_id,
                settled_on=settled.settled_on,
            )
        case _:
            return


def register_consumers(
    runtime: Runtime,
    *,
    organisation_topic: str = identity_contracts.ORGANISATION_TOPIC,
    group_id: str = GROUP_ID,
    privacy_command_topic: str | None = None,
) -> RegisterSubscribers:
    """The subscribers of consent, bound to the runtime's dependencies (tests pass their own
    topics and consumer group); the privacy commands' topic defaults to the runtime's
    setting."""
    deps = runtime.deps

    def register(broker: KafkaRegistrator) -> None:
        @broker.subscriber(organisation_topic, group_id=group_id, auto_offset_reset="earliest")
        async def on_organisation(message: KafkaMessage) -> None:
            await on_organisation_event(deps, event_from_message(message))

        register_participant(
            broker,
            runtime.participant,
            group_id=group_id,
            topic=privacy_command_topic or runtime.settings.consent_privacy_command_topic,
        )

    return register
