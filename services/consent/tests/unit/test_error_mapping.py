"""Every domain and service error that can reach a client has a problem response of its own:
a client error, except the one that says erasure is unavailable right now (503)."""

from __future__ import annotations

import pytest

from consent.domain.complaints import ComplaintError
from consent.domain.correspondence import CorrespondenceError
from consent.domain.correspondence_deletion import NoticeRequired
from consent.domain.errors import ConsentError
from consent.domain.newsletter import ConfirmationStillValid
from consent.entrypoints.errors import problem_for
from consent.service_layer import errors as service

from ....service_testing import all_subclasses

# Never meant for a client: base classes nothing raises, an invariant the service layer keeps
# (it always passes a notice when one is needed) and the purge's own signal (caught there).
# Were one ever to escape, the handlers answer 500, as for any bug.
INTERNAL = {ComplaintError, CorrespondenceError, NoticeRequired, ConfirmationStillValid}
ERRORS = [
    error
    for error in all_subclasses(ConsentError) + all_subclasses(service.ServiceError)
    if error not in INTERNAL
]
SERVER_SIDE = {service.ErasureUnavailable}


def _instance(error_type: type[Exception]) -> Exception:
    if error_type is service.VersionMismatch:
        return service.VersionMismatch(expected=1, actual=2)
    return error_type("private detail kari@example.no")


def test_every_capability_has_errors() -> None:
    # Errors are found by subclassing: every capability's domain module must be imported.
    assert len(ERRORS) > 20


@pytest.mark.parametrize("error_type", ERRORS, ids=lambda t: t.__name__)
def test_error_maps_to_a_problem(error_type: type[Exception]) -> None:
    problem = problem_for(_instance(error_type))
    assert problem is not None, f"{error_type.__name__} has no problem mapping"
    if error_type in SERVER_SIDE:
        assert problem.status == 503
    else:
        assert 400 <= problem.status < 500
    # The detail is a fixed sentence: nothing from the exception text reaches the client.
    assert "kari@example.no" not in (problem.detail or "")
