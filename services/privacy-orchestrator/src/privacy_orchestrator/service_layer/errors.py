"""Errors of the service layer (the domain's are in `domain.errors`)."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the orchestrator's service-layer errors."""


class RecordNotFound(ServiceError):
    """No completion record with this sequence number."""


class InvalidRange(ServiceError):
    """A range of records whose start is after its end, or that is too long for one answer."""


class SubProcessorNotFound(ServiceError):
    """No sub-processor with this id."""


class SubProcessorExists(ServiceError):
    """A sub-processor with this organisation number is already registered."""


class SubProcessorChanged(ServiceError):
    """The sub-processor changed since the version named in If-Match."""


class UnknownPrivacyRequest(ServiceError):
    """A signed callback confirms a request that was never sent to this sub-processor."""


class DeliveryNotFound(ServiceError):
    """No delivery with this id."""


class RequestNotFound(ServiceError):
    """No data-subject request with this id that the caller may see (also: another tenant's)."""


class NotYourSubject(ServiceError):
    """A person asked for a request about someone else's data (only staff and a contact
    person forwarding an employee's request may name another subject)."""


class SubjectRequired(ServiceError):
    """Platform staff must name the subject of a request they file."""


class KindNotSupportedYet(ServiceError):
    """Rectification requests are not carried out yet (their corrections need the key ring)."""


class HoldNotFound(ServiceError):
    """No legal hold in force with this id."""
