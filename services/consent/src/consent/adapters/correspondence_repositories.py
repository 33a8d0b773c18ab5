"""Event-sourced repositories of correspondence items, deletion requests and complaints.

The mechanics (load and replay, append at the loaded version, return what was recorded) are
`byggrygg_shared.repository`; here each aggregate gets its stream and its codec, with the key
ring that seals and opens personal fields bound in.
"""

from __future__ import annotations

from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.repository import EventSourcedRepository, Recorded
from consent.adapters.correspondence_codec import (
    complaint_stream,
    correspondence_stream,
    decode_complaint_event,
    decode_correspondence_event,
    decode_deletion_event,
    deletion_stream,
    encode_complaint_event,
    encode_correspondence_event,
    encode_deletion_event,
)
from consent.domain.complaints import Complaint, ComplaintEvent
from consent.domain.correspondence import Correspondence, CorrespondenceEvent
from consent.domain.correspondence_deletion import CorrespondenceDeletion, DeletionEvent
from consent.service_layer.context import FieldCipher

__all__ = [
    "Recorded",
    "complaint_repository",
    "correspondence_repository",
    "deletion_repository",
]


def correspondence_repository(
    store: EventStore, cipher: FieldCipher
) -> EventSourcedRepository[Correspondence, CorrespondenceEvent]:
    return EventSourcedRepository(
        store=store,
        aggregate=Correspondence,
        stream_of=correspondence_stream,
        encode=lambda event: encode_correspondence_event(event, cipher),
        decode=lambda stored: decode_correspondence_event(stored, cipher),
    )


def deletion_repository(
    store: EventStore, cipher: FieldCipher
) -> EventSourcedRepository[CorrespondenceDeletion, DeletionEvent]:
    return EventSourcedRepository(
        store=store,
        aggregate=CorrespondenceDeletion,
        stream_of=deletion_stream,
        encode=lambda event: encode_deletion_event(event, cipher),
        decode=lambda stored: decode_deletion_event(stored, cipher),
    )


def complaint_repository(
    store: EventStore, cipher: FieldCipher
) -> EventSourcedRepository[Complaint, ComplaintEvent]:
    return EventSourcedRepository(
        store=store,
        aggregate=Complaint,
        stream_of=complaint_stream,
        encode=lambda event: encode_complaint_event(event, cipher),
        decode=lambda stored: decode_complaint_event(stored, cipher),
    )
