"""The OpenAPI document lists every endpoint with its problem responses, and tags the routes
that return other people's answers (R4)."""

from __future__ import annotations

from typing import Any

from courses.entrypoints.api import create_app

EXPECTED = {
    ("post", "/courses"),
    ("get", "/courses"),
    ("get", "/courses/{course_id}"),
    ("put", "/courses/{course_id}/draft"),
    ("post", "/courses/{course_id}/publish"),
    ("get", "/courses/{course_id}/versions/{version}"),
    ("post", "/organisations/{organisation_id}/courses"),
    ("get", "/organisations/{organisation_id}/courses"),
    ("post", "/organisations/{organisation_id}/enrolments"),
    ("get", "/organisations/{organisation_id}/enrolments"),
    ("get", "/me/enrolments"),
    ("get", "/me/enrolments/{enrolment_id}"),
    ("get", "/me/enrolments/{enrolment_id}/answers"),
    ("put", "/me/enrolments/{enrolment_id}/answers/{question_id}"),
    ("post", "/me/enrolments/{enrolment_id}/complete"),
    ("get", "/enrolments/{enrolment_id}/answers"),
    ("get", "/courses/{course_id}/answers"),
}


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def test_every_endpoint_is_documented() -> None:
    assert set(_operations(create_app().openapi())) == EXPECTED


def test_every_endpoint_documents_401_and_other_problems() -> None:
    for key, operation in _operations(create_app().openapi()).items():
        problems = [
            status
            for status, response in operation["responses"].items()
            if "application/problem+json" in response.get("content", {})
        ]
        assert "401" in problems, key


def test_the_staff_answer_routes_are_tagged_answers() -> None:
    operations = _operations(create_app().openapi())
    tagged = {key for key, op in operations.items() if "answers" in op.get("tags", [])}
    assert tagged == {
        ("get", "/enrolments/{enrolment_id}/answers"),
        ("get", "/courses/{course_id}/answers"),
    }
