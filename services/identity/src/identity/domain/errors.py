"""Domain errors of identity, each named for what went wrong; the API maps them to problems."""

from __future__ import annotations


class IdentityError(Exception):
    """Base of every rule violation raised by the identity domain."""


class InvalidOrganisationNumber(IdentityError):
    """The organisation number is not 9 digits with a valid MOD11 check digit (R1)."""


class InvalidContractPeriod(IdentityError):
    """A contract cannot end before it starts."""


class ContractAlreadyEnded(IdentityError):
    """The organisation's contract has ended: nothing more may be added to it (R2, R6)."""


class PersonAlreadyListed(IdentityError):
    """The person is already a contact person or administrator of the organisation."""


class DuplicateRetentionReason(IdentityError):
    """A retention reason may be recorded once per contract end (R2)."""


class RetentionClaimNotFound(IdentityError):
    """The ended contract has no retention claim with that reason (R2)."""


class RetentionClaimNotSettleable(IdentityError):
    """The claim cannot be settled: bookkeeping runs its statutory period, and a claim that
    was settled before stays settled (R2)."""


class ContractNotEnded(IdentityError):
    """The organisation is still a customer: its retention clocks have not started (R2)."""


class TermsVersionOutdated(IdentityError):
    """The person accepted a terms version other than the current one (R3)."""


class UserNotActive(IdentityError):
    """The user has cancelled their subscription; the account accepts no more changes (R6)."""


class RequiredProfileField(IdentityError):
    """A correction (R15) tried to clear a field every user must have."""


class LicenceAlreadyActive(IdentityError):
    """The user already holds an active licence."""


class LicenceNotFound(IdentityError):
    """No active licence with that id belongs to the user."""


class InvitationExpired(IdentityError):
    """The invitation can no longer be accepted."""
