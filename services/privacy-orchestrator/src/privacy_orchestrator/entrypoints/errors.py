"""Map the orchestrator's errors to problem documents (RFC 9457): one table, fixed sentences."""

from __future__ import annotations

from byggrygg_shared.error_mapping import ErrorMapping
from privacy_orchestrator.domain import errors as domain
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
    domain.RecordVerificationFailed: (
        500,
        "record-verification-failed",
        "Record verification failed",
        "The stored completion records do not verify.",
    ),
}

ERROR_MAPPING = ErrorMapping(_PROBLEMS, bases=(domain.OrchestratorError, service.ServiceError))
problem_for = ERROR_MAPPING.problem_for
