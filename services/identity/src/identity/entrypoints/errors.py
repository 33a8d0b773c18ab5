"""Map the domain's and the service layer's errors to problem documents (RFC 9457).

One table, so the status of every error is visible in one place. Details are fixed sentences,
never the exception's text (which could one day carry input values).
"""

from __future__ import annotations

from byggrygg_shared.error_mapping import ErrorMapping
from identity.domain import errors as domain
from identity.service_layer import errors as service

# error type -> (status, type slug, title, detail)
_PROBLEMS: dict[type[Exception], tuple[int, str, str, str]] = {
    service.NotAllowed: (403, "forbidden", "Forbidden", "Your role does not allow this."),
    service.OrganisationNotFound: (404, "not-found", "Not found", "No such organisation."),
    service.UserNotFound: (404, "not-found", "Not found", "No such user."),
    domain.LicenceNotFound: (
        404,
        "not-found",
        "Not found",
        "The user holds no active licence with this id.",
    ),
    service.InvitationNotFound: (
        404,
        "invitation-not-found",
        "Invitation not found",
        "No pending invitation has this token.",
    ),
    domain.InvitationExpired: (
        410,
        "invitation-expired",
        "Invitation expired",
        "The invitation can no longer be accepted.",
    ),
    service.EmailAlreadyInUse: (
        409,
        "email-in-use",
        "E-mail already in use",
        "This e-mail address already has an account or invitation.",
    ),
    service.OrganisationNumberInUse: (
        409,
        "organisation-number-in-use",
        "Organisation already registered",
        "An organisation with this organisation number is already registered.",
    ),
    service.VersionMismatch: (
        409,
        "edit-conflict",
        "Edit conflict",
        "The resource changed since you read it. Read it again and reapply your change.",
    ),
    service.InvalidCredentials: (
        401,
        "invalid-credentials",
        "Invalid credentials",
        "Invalid e-mail or password.",
    ),
    domain.PersonAlreadyListed: (
        409,
        "person-already-listed",
        "Person already listed",
        "This e-mail address is already listed for the organisation.",
    ),
    domain.ContractAlreadyEnded: (
        409,
        "contract-ended",
        "Contract ended",
        "The organisation's contract has ended.",
    ),
    domain.UserNotActive: (
        409,
        "subscription-cancelled",
        "Subscription cancelled",
        "The user has cancelled the subscription; the account accepts no more changes.",
    ),
    domain.LicenceAlreadyActive: (
        409,
        "licence-already-active",
        "Licence already active",
        "The user already holds an active licence.",
    ),
    domain.TermsVersionOutdated: (
        409,
        "terms-version-outdated",
        "Terms version outdated",
        "The terms accepted are not the current terms. Show the current terms and ask again.",
    ),
    domain.InvalidOrganisationNumber: (
        422,
        "validation-failed",
        "Validation failed",
        "The organisation number is not valid.",
    ),
    domain.InvalidContractPeriod: (
        422,
        "invalid-contract-period",
        "Invalid contract period",
        "A contract cannot end before it starts.",
    ),
    domain.RequiredProfileField: (
        422,
        "validation-failed",
        "Validation failed",
        "Name, e-mail and language may be corrected but not cleared.",
    ),
    domain.DuplicateRetentionReason: (
        422,
        "validation-failed",
        "Validation failed",
        "Each retention reason may be given once.",
    ),
    domain.ContractNotEnded: (
        409,
        "contract-not-ended",
        "Contract not ended",
        "The organisation is still a customer: no retention claim runs yet.",
    ),
    domain.RetentionClaimNotFound: (
        404,
        "retention-claim-not-found",
        "Retention claim not found",
        "No retention claim with this reason was recorded when the contract ended.",
    ),
    domain.RetentionClaimNotSettleable: (
        409,
        "retention-claim-not-settleable",
        "Retention claim cannot be settled",
        "Bookkeeping runs its statutory period, and a settled claim stays settled.",
    ),
}


# The platform's own errors (a concurrent append: 409 edit-conflict) come with the mapping.
ERROR_MAPPING = ErrorMapping(_PROBLEMS, bases=(domain.IdentityError, service.ServiceError))
problem_for = ERROR_MAPPING.problem_for
