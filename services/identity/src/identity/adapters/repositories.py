"""identity's event-sourced repositories: organisations and users from their streams.

The mechanics (load and replay, append at the loaded version, return what was recorded) are
`byggrygg_shared.repository`; here each aggregate gets its stream and its codec, with the key
ring that seals and opens personal fields bound in.
"""

from __future__ import annotations

from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.repository import EventSourcedRepository, Recorded
from identity.adapters.event_codec import (
    FieldCipher,
    decode_organisation_event,
    decode_user_event,
    encode_organisation_event,
    encode_user_event,
    organisation_stream,
    user_stream,
)
from identity.domain.organisation import Organisation, OrganisationEvent
from identity.domain.user import User, UserEvent

__all__ = ["OrganisationRepository", "Recorded", "UserRepository"]


class OrganisationRepository(EventSourcedRepository[Organisation, OrganisationEvent]):
    """Organisations from the `organisation-<id>` streams."""

    def __init__(self, *, store: EventStore, cipher: FieldCipher) -> None:
        super().__init__(
            store=store,
            aggregate=Organisation,
            stream_of=organisation_stream,
            encode=lambda event: encode_organisation_event(event, cipher),
            decode=lambda stored: decode_organisation_event(stored, cipher),
        )


class UserRepository(EventSourcedRepository[User, UserEvent]):
    """Users from the `user-<id>` streams."""

    def __init__(self, *, store: EventStore, cipher: FieldCipher) -> None:
        super().__init__(
            store=store,
            aggregate=User,
            stream_of=user_stream,
            encode=lambda event: encode_user_event(event, cipher),
            decode=lambda stored: decode_user_event(stored, cipher),
        )
