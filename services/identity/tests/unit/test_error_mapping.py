"""Every domain and service error has a problem response of its own, and none is a 5xx."""

from __future__ import annotations

import pytest

from identity.domain import errors as domain
from identity.entrypoints.errors import problem_for
from identity.service_layer import errors as service

from ....service_testing import all_subclasses

ERRORS = all_subclasses(domain.IdentityError) + all_subclasses(service.ServiceError)


@pytest.mark.parametrize("error_type", ERRORS, ids=lambda t: t.__name__)
def test_error_maps_to_a_client_problem(error_type: type[Exception]) -> None:
    error = (
        error_type(expected=1, actual=2)  # type: ignore[call-arg]
        if error_type is service.VersionMismatch
        else error_type("private detail kari@example.no")
    )
    problem = problem_for(error)
    assert problem is not None, f"{error_type.__name__} has no problem mapping"
    assert 400 <= problem.status < 500
    # The detail is a fixed sentence: nothing from the exception text reaches the client.
    assert "kari@example.no" not in (problem.detail or "")


def test_tenancy_errors_look_like_missing_resources() -> None:
    org = problem_for(service.OrganisationNotFound("x"))
    user = problem_for(service.UserNotFound("x"))
    assert org is not None
    assert user is not None
    assert (org.status, user.status) == (404, 404)
