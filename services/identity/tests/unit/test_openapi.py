"""The OpenAPI document lists every endpoint with its problem responses."""

from __future__ import annotations

from typing import Any

from identity.entrypoints.api import create_app

EXPECTED = {
    ("post", "/auth/token"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/me"),
    ("post", "/organisations"),
    ("get", "/organisations/{organisation_id}"),
    ("post", "/organisations/{organisation_id}/end-contract"),
    ("post", "/organisations/{organisation_id}/retention/{reason}/settle"),
    ("post", "/organisations/{organisation_id}/contact-persons"),
    ("post", "/organisations/{organisation_id}/admins"),
    ("post", "/organisations/{organisation_id}/users"),
    ("post", "/invitations/accept"),
    ("get", "/users/{user_id}"),
    ("patch", "/users/{user_id}"),
    ("post", "/users/{user_id}/licences"),
    ("delete", "/users/{user_id}/licences/{licence_id}"),
    ("post", "/users/me/cancel-subscription"),
}


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def test_every_endpoint_is_documented() -> None:
    operations = _operations(create_app().openapi())
    assert set(operations) == EXPECTED


def test_every_endpoint_but_the_jwks_documents_problem_responses() -> None:
    for key, operation in _operations(create_app().openapi()).items():
        if key == ("get", "/.well-known/jwks.json"):
            continue
        problems = [
            status
            for status, response in operation["responses"].items()
            if "application/problem+json" in response.get("content", {})
        ]
        assert problems, f"{key} documents no problem response"
        assert "401" in problems or key in {
            ("post", "/auth/token"),
            ("post", "/invitations/accept"),
        }, key
