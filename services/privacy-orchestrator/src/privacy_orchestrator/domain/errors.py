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
