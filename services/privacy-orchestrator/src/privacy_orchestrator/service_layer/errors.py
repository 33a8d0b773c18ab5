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


class HoldNotFound(ServiceError):
    """No legal hold in force with this id."""


# --- access export (R14) ---


class ExportNotFound(ServiceError):
    """No access export of this request for the caller: the export is its subject's alone."""


class ExportNotReady(ServiceError):
    """The access request has not completed, so its export is not assembled (yet)."""


class ExportGone(ServiceError):
    """The access export expired or was deleted (also: its subject's key was shredded)."""


# --- the request workflow with sub-processors and rectification (R13, R15) ---
class OrganisationNotYours(ServiceError):
    """Only platform staff name the organisation of a request; everyone else's comes from
    their token (a silently ignored field would mislead the caller)."""


class SubjectKeyErased(ServiceError):
    """The subject was erased (their key is shredded): there is nothing left to rectify."""


class KeyRingMissing(ServiceError):
    """The orchestrator runs without a key ring: it cannot seal or read personal data."""


class ContractEndNotFound(ServiceError):
    """No contract end of this organisation that the caller may see (also: another tenant's)."""


# --- organisation export at a contract end (art. 28(3)(g)) ---


class OrganisationExportRequested(ServiceError):
    """The organisation's export was already requested at this contract end."""


class OrganisationExportNotFound(ServiceError):
    """The organisation's export was not requested (or the caller may not see it)."""


class OrganisationExportNotReady(ServiceError):
    """Not every access request of the organisation's export has completed yet."""


class OrganisationExportGone(ServiceError):
    """The contract end's export offer is over: its data is being erased."""


# --- operator actions on a request (R13, DESIGN §5) ---


class SubProcessorNotOnRequest(ServiceError):
    """The request was never sent to this sub-processor."""


class DeliveryNotEscalated(ServiceError):
    """Only an escalated sub-processor request may be sent again or closed by an operator."""
