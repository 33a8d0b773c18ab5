"""Map the orchestrator's errors to problem documents (RFC 9457): one table, fixed sentences."""

from __future__ import annotations

from byggrygg_shared import webhooks
from byggrygg_shared.error_mapping import ErrorMapping
from privacy_orchestrator.domain import errors as domain
from privacy_orchestrator.domain import triggers
from privacy_orchestrator.service_layer import errors as service

# error type -> (status, type slug, title, detail)
_PROBLEMS: dict[type[Exception], tuple[int, str, str, str]] = {
    service.RecordNotFound: (
        404,
        "not-found",
        "Not found",
        "No completion record with this number.",
    ),
    service.InvalidRange: (
        422,
        "invalid-range",
        "Invalid range",
        "Give 1 <= from <= to, and at most 1000 records at a time.",
    ),
    domain.PersonalDataInRecord: (
        422,
        "personal-data-in-record",
        "Personal data in record",
        "A completion record may not hold personal data.",
    ),
    domain.InvalidRecord: (
        422,
        "invalid-record",
        "Invalid record",
        "The completion record breaks a rule of its format.",
    ),
    service.RequestNotFound: (
        404,
        "request-not-found",
        "Not found",
        "No data-subject request with this id.",
    ),
    service.HoldNotFound: (
        404,
        "hold-not-found",
        "Not found",
        "No legal hold in force with this id.",
    ),
    service.NotYourSubject: (
        403,
        "not-your-subject",
        "Not your data",
        "You may file a request about your own data only.",
    ),
    service.SubjectRequired: (
        422,
        "subject-required",
        "Subject required",
        "Name the subject (subject_ref) of the request you file.",
    ),
    domain.NotAwaitingDecision: (
        409,
        "not-awaiting-decision",
        "Not awaiting a decision",
        "Only a forwarded request still waiting for its controller can be decided.",
    ),
    domain.NotInProgress: (
        409,
        "not-in-progress",
        "Not in progress",
        "The request is not in a state that allows this.",
    ),
    domain.UnexpectedReply: (
        409,
        "unexpected-reply",
        "Unexpected reply",
        "The request never sent this command to this participant.",
    ),
    domain.ParticipantNotOnRequest: (
        404,
        "participant-not-on-request",
        "Not found",
        "The request sent no command to this participant.",
    ),
    domain.ParticipantNotEscalated: (
        409,
        "participant-not-escalated",
        "Not escalated",
        "Only an escalated participant's command may be sent again.",
    ),
    domain.RequestRuleBroken: (
        409,
        "request-rule-broken",
        "Request rule broken",
        "The request's state does not allow this.",
    ),
    domain.RecordVerificationFailed: (
        500,
        "record-verification-failed",
        "Record verification failed",
        "The stored completion records do not verify.",
    ),
    # --- sub-processors (R12, R13) ---
    domain.InvalidSubProcessor: (
        422,
        "invalid-subprocessor",
        "Invalid sub-processor",
        "The sub-processor entry breaks a rule (organisation number, categories or endpoint).",
    ),
    service.SubProcessorNotFound: (
        404,
        "not-found",
        "Not found",
        "No sub-processor with this id.",
    ),
    service.SubProcessorExists: (
        409,
        "subprocessor-exists",
        "Sub-processor exists",
        "A sub-processor with this organisation number is already registered.",
    ),
    service.SubProcessorChanged: (
        409,
        "edit-conflict",
        "Edit conflict",
        "The sub-processor changed since the version in If-Match. Read it again.",
    ),
    service.UnknownPrivacyRequest: (
        422,
        "unknown-privacy-request",
        "Unknown privacy request",
        "This sub-processor was never sent this request.",
    ),
    service.DeliveryNotFound: (
        404,
        "not-found",
        "Not found",
        "No delivery with this id.",
    ),
    webhooks.MalformedWebhook: (
        400,
        "malformed-webhook",
        "Malformed webhook",
        "A webhook header is missing or unreadable, or the body is not a confirmation.",
    ),
    webhooks.BadSignature: (
        401,
        "bad-webhook-signature",
        "Bad webhook signature",
        "No signature matches the message under this sub-processor's secret.",
    ),
    webhooks.StaleTimestamp: (
        401,
        "stale-webhook-timestamp",
        "Stale webhook timestamp",
        "The message was signed too long ago or too far in the future.",
    ),
    webhooks.ReplayedWebhook: (
        409,
        "replayed-webhook",
        "Replayed webhook",
        "A message with this webhook-id was already received.",
    ),
    # --- the request workflow with sub-processors and rectification (R13, R15) ---
    service.OrganisationNotYours: (
        403,
        "organisation-not-yours",
        "Organisation not yours to name",
        "Only platform staff name a request's organisation; yours comes from your sign-in.",
    ),
    service.SubjectKeyErased: (
        409,
        "subject-erased",
        "Subject erased",
        "This person's data was erased; there is nothing left to rectify.",
    ),
    service.KeyRingMissing: (
        500,
        "key-ring-missing",
        "Key ring missing",
        "The orchestrator cannot seal or read personal data without its key ring.",
    ),
    # --- access export (R14) ---
    service.ExportNotFound: (
        404,
        "export-not-found",
        "Not found",
        "No access export of yours with this request id.",
    ),
    service.ExportNotReady: (
        409,
        "export-not-ready",
        "Export not ready",
        "The access request has not completed; its export is assembled when it does.",
    ),
    service.ExportGone: (
        410,
        "export-gone",
        "Export gone",
        "The access export expired and was deleted. File a new access request.",
    ),
    # Automatic triggers and retention clocks (R2, R6, art. 28(3)(g)).
    service.ContractEndNotFound: (
        404,
        "contract-end-not-found",
        "Not found",
        "No contract end of this organisation.",
    ),
    triggers.ExportOfferClosed: (
        409,
        "export-offer-closed",
        "Export offer closed",
        "The export offer of this contract end is over: erasure has started.",
    ),
    # Organisation export at a contract end (art. 28(3)(g)).
    service.OrganisationExportRequested: (
        409,
        "organisation-export-requested",
        "Export already requested",
        "The organisation's export was already requested at this contract end.",
    ),
    service.OrganisationExportNotFound: (
        404,
        "organisation-export-not-found",
        "Not found",
        "The organisation's export was not requested.",
    ),
    service.OrganisationExportNotReady: (
        409,
        "organisation-export-not-ready",
        "Export not ready",
        "Not every person's access request has completed yet; see the progress.",
    ),
    service.OrganisationExportGone: (
        410,
        "organisation-export-gone",
        "Export gone",
        "The export offer of this contract end is over: the data is being erased.",
    ),
    # --- operator actions on a request (R13, DESIGN §5) ---
    service.SubProcessorNotOnRequest: (
        404,
        "subprocessor-not-on-request",
        "Not found",
        "The request was never sent to this sub-processor.",
    ),
    service.DeliveryNotEscalated: (
        409,
        "delivery-not-escalated",
        "Not escalated",
        "Only an escalated sub-processor request may be sent again or closed.",
    ),
}

ERROR_MAPPING = ErrorMapping(
    _PROBLEMS,
    bases=(domain.OrchestratorError, service.ServiceError, webhooks.WebhookRejected),
)
problem_for = ERROR_MAPPING.problem_for
