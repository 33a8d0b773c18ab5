"""The OpenAPI document: records are staff-only, the public key is public."""

from __future__ import annotations

from privacy_orchestrator.entrypoints.api import create_app


def test_routes_are_documented() -> None:
    paths = create_app().openapi()["paths"]
    assert {
        "/records",
        "/records/{sequence}",
        "/records/export",
        "/.well-known/orchestrator-key",
    } <= set(paths)
    for path in ("/records", "/records/{sequence}", "/records/export"):
        responses = paths[path]["get"]["responses"]
        assert {"401", "403"} <= set(responses), path
    assert "401" not in paths["/.well-known/orchestrator-key"]["get"]["responses"]
