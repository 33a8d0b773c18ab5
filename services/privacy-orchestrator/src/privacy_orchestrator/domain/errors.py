"""The domain's errors: each named for what went wrong."""

from __future__ import annotations


class OrchestratorError(Exception):
    """Base of the orchestrator's domain errors."""


class InvalidRecord(OrchestratorError):
    """A completion record's content breaks a rule (a naive time, a negative count, ...)."""


class PersonalDataInRecord(InvalidRecord):
    """A completion record would carry something that looks like personal data (R19: none)."""

    def __init__(self, path: str) -> None:
        # The path names where, never the value itself.
        super().__init__(f"value at {path} looks like personal data")
        self.path = path


class RecordVerificationFailed(OrchestratorError):
    """An exported chain of records does not verify; `where` names the first bad place."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


class RequestRuleBroken(OrchestratorError):
    """A data-subject request was asked to do something its state does not allow."""


class NotAwaitingDecision(RequestRuleBroken):
    """Only a request waiting for its controller can be approved or rejected (R18)."""


class NotInProgress(RequestRuleBroken):
    """Commands, replies and completion belong to an approved request in progress."""


class UnexpectedReply(RequestRuleBroken):
    """A reply from a participant (or for a command) the request never sent."""


class ParticipantNotOnRequest(OrchestratorError):
    """The request sent no command to this participant."""


class ParticipantNotEscalated(RequestRuleBroken):
    """Only an escalated participant's command may be sent again by an operator."""


class InvalidSubProcessor(OrchestratorError):
    """A sub-processor entry breaks a rule (bad organisation number, no categories, ...)."""
