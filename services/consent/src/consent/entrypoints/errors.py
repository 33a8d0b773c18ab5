"""Map the domain's and the service layer's errors to problem documents (RFC 9457).

One table, so the status of every error is visible in one place. Details are fixed sentences,
never the exception's text (which could one day carry input values). Each capability adds its
errors to ``_PROBLEMS`` (errors must subclass ``ConsentError`` or ``ServiceError``).
"""

from __future__ import annotations

from byggrygg_shared.error_mapping import ErrorMapping
from consent.domain import (
    complaints,
    cookies,
    correspondence,
    correspondence_deletion,
    newsletter,
    policy,
    wording,
)
from consent.domain.errors import ConsentError
from consent.service_layer import errors as service
from consent.service_layer import mail
from consent.service_layer import newsletter as newsletter_service

# error type -> (status, type slug, title, detail)
_PROBLEMS: dict[type[Exception], tuple[int, str, str, str]] = {
    service.NotAllowed: (403, "forbidden", "Forbidden", "Your role does not allow this."),
    # --- policy versions (R20) ---
    policy.InvalidPolicyVersion: (
        422,
        "validation-failed",
        "Validation failed",
        "A version label is 1-40 letters, digits, '.', '_' or '-', and not 'current'.",
    ),
    policy.RetroactivePolicy: (
        422,
        "retroactive-policy",
        "Retroactive policy",
        "A policy version cannot take effect before today.",
    ),
    policy.PolicyVersionExists: (
        409,
        "policy-version-exists",
        "Policy version exists",
        "A version with this label is already published; published versions never change.",
    ),
    policy.PolicyVersionNotFound: (404, "not-found", "Not found", "No such policy version."),
    policy.NoCurrentPolicy: (
        404,
        "no-current-policy",
        "No current policy",
        "No version of the privacy policy is in effect yet.",
    ),
    # --- consent wording (R8, R11) ---
    wording.StaleWording: (
        409,
        "wording-outdated",
        "Wording outdated",
        "The wording shown is not the current one. Fetch it again, show it and ask again.",
    ),
    newsletter.NoPolicyToConsentTo: (
        409,
        "no-policy-in-effect",
        "No policy in effect",
        "No version of the privacy policy is in effect, so no consent can be recorded.",
    ),
    # --- newsletter (R8) ---
    newsletter.ConfirmationNotFound: (
        404,
        "confirmation-not-found",
        "Confirmation not found",
        "This confirmation link is unknown, already used or replaced by a newer one.",
    ),
    newsletter.ConfirmationExpired: (
        410,
        "confirmation-expired",
        "Confirmation expired",
        "This confirmation link has expired. Sign up again to get a new one.",
    ),
    newsletter.NotPending: (
        409,
        "subscription-not-pending",
        "Subscription not pending",
        "The subscription is already confirmed or withdrawn.",
    ),
    newsletter.InvalidWithdrawalLink: (
        404,
        "withdrawal-link-invalid",
        "Withdrawal link invalid",
        "This withdrawal link is not valid.",
    ),
    newsletter.SubscriptionNotFound: (404, "not-found", "Not found", "No such subscription."),
    newsletter_service.ConcurrentSignup: (
        409,
        "edit-conflict",
        "Edit conflict",
        "The same address was signed up at the same moment. Try again.",
    ),
    # --- cookies and analytics (R11) ---
    cookies.InvalidVisitorId: (
        422,
        "validation-failed",
        "Validation failed",
        "The visitor id is not one this service issued.",
    ),
    cookies.InvalidAnalyticsEvent: (
        422,
        "validation-failed",
        "Validation failed",
        "The event name or page path is not acceptable (a path starts with '/').",
    ),
    cookies.NoCookieChoice: (
        404,
        "no-cookie-choice",
        "No cookie choice",
        "This visitor has recorded no cookie choice.",
    ),
    # --- mail ---
    mail.InvalidMail: (
        422,
        "validation-failed",
        "Validation failed",
        "The mail's address or subject contains characters that cannot be sent.",
    ),
    # --- correspondence (R9, R10) and complaints (R21): CONSENT-B ---
    service.CorrespondenceNotFound: (
        404,
        "not-found",
        "Not found",
        "No such correspondence (it may have been deleted).",
    ),
    service.DeletionRequestNotFound: (404, "not-found", "Not found", "No such deletion request."),
    service.ComplaintNotFound: (404, "not-found", "Not found", "No such question or complaint."),
    service.VersionMismatch: (
        409,
        "edit-conflict",
        "Edit conflict",
        "The resource changed since you read it. Read it again and reapply your change.",
    ),
    service.ErasureUnavailable: (
        503,
        "erasure-unavailable",
        "Erasure unavailable",
        "Correspondence cannot be deleted right now.",
    ),
    correspondence.CorrespondenceAlreadyErased: (
        404,
        "not-found",
        "Not found",
        "No such correspondence (it may have been deleted).",
    ),
    correspondence.NotAnEmailCorrespondence: (
        409,
        "not-email-correspondence",
        "Not an e-mail correspondence",
        "Messages can only be added to an e-mail correspondence.",
    ),
    correspondence.NoMessages: (
        422,
        "validation-failed",
        "Validation failed",
        "An e-mail correspondence is logged with at least one message.",
    ),
    correspondence_deletion.DeletionAlreadyCompleted: (
        409,
        "deletion-completed",
        "Deletion completed",
        "The deletion request was completed.",
    ),
    complaints.ComplaintAlreadyResolved: (
        409,
        "complaint-resolved",
        "Already resolved",
        "The question or complaint was resolved already.",
    ),
    complaints.OutcomeRequired: (
        422,
        "validation-failed",
        "Validation failed",
        "A complaint is resolved with an outcome: upheld, rejected or withdrawn.",
    ),
    complaints.NoConcernedData: (
        422,
        "validation-failed",
        "Validation failed",
        "A complaint names the data it concerns (concerns).",
    ),
}


# The platform's own errors (a concurrent append: 409 edit-conflict) come with the mapping.
ERROR_MAPPING = ErrorMapping(_PROBLEMS, bases=(ConsentError, service.ServiceError))
problem_for = ERROR_MAPPING.problem_for
