"""Identity's Kafka consumers: none in this release.

Identity emits its events through the outbox relay (`bootstrap`) and, so far, reacts to no
other service's events. Its one planned subscription, the privacy orchestrator's commands on
``privacy.commands.identity.v1`` (erase, export, rectify), arrives with the orchestrator; it will
live here and be started by `bootstrap.service_lifespan` next to the relay.
"""
