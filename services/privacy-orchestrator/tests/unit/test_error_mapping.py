"""Every error of the domain and the service layer has a problem document."""

from __future__ import annotations

from privacy_orchestrator.domain.errors import OrchestratorError, RecordVerificationFailed
from privacy_orchestrator.entrypoints.errors import problem_for
from privacy_orchestrator.service_layer.errors import ServiceError

from ....service_testing import all_subclasses


def _instance(error_type: type[Exception]) -> Exception:
    if issubclass(error_type, RecordVerificationFailed):
        return error_type("record 1", "bad")
    try:
        return error_type()
    except TypeError:
        return error_type("x")


def test_every_error_is_mapped() -> None:
    for error_type in all_subclasses(OrchestratorError) + all_subclasses(ServiceError):
        problem = problem_for(_instance(error_type))
        assert problem is not None, error_type
        assert problem.status in {403, 404, 409, 410, 422, 500}, error_type
