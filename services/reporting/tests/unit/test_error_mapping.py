"""Every service error of reporting has a problem response of its own, and none is a 5xx."""

from __future__ import annotations

import pytest

from reporting.entrypoints.errors import problem_for
from reporting.service_layer import errors as service

from ....service_testing import all_subclasses

ERRORS = all_subclasses(service.ServiceError)


@pytest.mark.parametrize("error_type", ERRORS, ids=lambda t: t.__name__)
def test_error_maps_to_a_client_problem(error_type: type[Exception]) -> None:
    problem = problem_for(error_type("private detail: the answer was 'I hate my boss'"))
    assert problem is not None, f"{error_type.__name__} has no problem mapping"
    assert 400 <= problem.status < 500
    # The detail is a fixed sentence: nothing from the exception text reaches the client.
    assert "boss" not in (problem.detail or "")
