"""Every domain and service error has a problem response of its own, and none is a 5xx."""

from __future__ import annotations

import pytest

from courses.domain import errors as domain
from courses.entrypoints.errors import problem_for
from courses.service_layer import errors as service

from ....service_testing import all_subclasses

ERRORS = all_subclasses(domain.CoursesError) + all_subclasses(service.ServiceError)


@pytest.mark.parametrize("error_type", ERRORS, ids=lambda t: t.__name__)
def test_error_maps_to_a_client_problem(error_type: type[Exception]) -> None:
    error = (
        error_type(expected=1, actual=2)  # type: ignore[call-arg]
        if error_type is service.VersionMismatch
        else error_type("private detail: the answer was 'I hate my boss'")
    )
    problem = problem_for(error)
    assert problem is not None, f"{error_type.__name__} has no problem mapping"
    assert 400 <= problem.status < 500
    # The detail is a fixed sentence: nothing from the exception text reaches the client.
    assert "boss" not in (problem.detail or "")


def test_answers_are_forbidden_with_a_type_of_their_own() -> None:
    problem = problem_for(service.AnswersForbidden("x"))
    assert problem is not None
    assert problem.status == 403
    assert problem.type_ == "answers-forbidden"


def test_ended_access_is_a_conflict() -> None:
    problem = problem_for(domain.EnrolmentEnded("x"))
    assert problem is not None
    assert problem.status == 409
