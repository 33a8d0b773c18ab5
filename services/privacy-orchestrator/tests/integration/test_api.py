"""The HTTP API: staff read records and export them, anyone reads the public key, others get
problem documents."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest

from byggrygg_shared.auth import Role
from privacy_orchestrator.bootstrap import Runtime
from privacy_orchestrator.domain.anchors import read_anchor, verify_anchored
from privacy_orchestrator.domain.errors import RecordVerificationFailed
from privacy_orchestrator.domain.export import verify_export
from privacy_orchestrator.domain.records import RecordContent
from privacy_orchestrator.domain.signing import load_public_key_pem
from privacy_orchestrator.service_layer.records import append_completion_record

from ....service_testing import assert_problem
from .support import rewind_chain

Headers = Callable[..., dict[str, str]]


async def test_staff_read_one_record_and_a_range(
    http: httpx.AsyncClient,
    runtime: Runtime,
    make_content: Callable[..., RecordContent],
    token_for: Headers,
) -> None:
    stored = [await append_completion_record(runtime.deps, make_content()) for _ in range(3)]
    staff = token_for(Role.PLATFORM_STAFF)
    one = await http.get("/records/2", headers=staff)
    assert one.status_code == 200, one.text
    assert one.json() == stored[1].entry()
    some = await http.get("/records", params={"from": 2, "to": 3}, headers=staff)
    assert [r["sequence"] for r in some.json()] == [2, 3]
    everything = await http.get("/records", headers=staff)
    assert len(everything.json()) == 3


async def test_the_exported_file_verifies_with_the_published_key(
    http: httpx.AsyncClient,
    runtime: Runtime,
    make_content: Callable[..., RecordContent],
    token_for: Headers,
) -> None:
    for _ in range(2):
        await append_completion_record(runtime.deps, make_content())
    key_answer = await http.get("/.well-known/orchestrator-key")
    assert key_answer.status_code == 200
    published = key_answer.json()
    key = load_public_key_pem(published["public_key_pem"].encode())
    assert published["fingerprint"] == runtime.deps.signer.fingerprint
    assert published["jwk"]["crv"] == "Ed25519"
    exported = await http.get("/records/export", headers=token_for(Role.PLATFORM_STAFF))
    assert exported.status_code == 200, exported.text
    assert verify_export(exported.content, key).count == 2


async def test_a_checkpoint_kept_outside_the_database_shows_a_rewound_chain(
    http: httpx.AsyncClient,
    runtime: Runtime,
    make_content: Callable[..., RecordContent],
    token_for: Headers,
    orchestrator_dsn: str,
) -> None:
    """R19's one gap without anchors: drop the newest records and rewind the head, and the
    shorter chain verifies. The checkpoint the auditor fetched before catches it."""
    stored = [await append_completion_record(runtime.deps, make_content()) for _ in range(3)]
    staff = token_for(Role.PLATFORM_STAFF)
    answer = await http.get("/records/checkpoint", headers=staff)
    assert answer.status_code == 200, answer.text
    key = runtime.deps.signer.public_key
    anchor = read_anchor(answer.content, key)
    assert (anchor.sequence, anchor.hash) == (3, stored[2].hash)
    assert verify_anchored(
        (await http.get("/records/export", headers=staff)).content, key, [anchor]
    )

    await rewind_chain(orchestrator_dsn, to=2)  # record 3 gone, the head set back
    shortened = (await http.get("/records/export", headers=staff)).content
    assert verify_export(shortened, key).count == 2  # on its own, it verifies
    with pytest.raises(RecordVerificationFailed) as failed:
        verify_anchored(shortened, key, [anchor])
    assert failed.value.where == "chain"
    assert "ends at record 2" in failed.value.problem


async def test_a_missing_record_is_404(http: httpx.AsyncClient, token_for: Headers) -> None:
    assert_problem(await http.get("/records/9", headers=token_for(Role.PLATFORM_STAFF)), 404)


@pytest.mark.parametrize("params", [{"from": 5, "to": 2}, {"from": 1, "to": 1001}, {"from": 0}])
async def test_a_bad_range_is_422(
    http: httpx.AsyncClient, token_for: Headers, params: dict[str, int]
) -> None:
    assert_problem(
        await http.get("/records", params=params, headers=token_for(Role.PLATFORM_STAFF)), 422
    )


@pytest.mark.parametrize(
    "path", ["/records", "/records/1", "/records/export", "/records/checkpoint"]
)
@pytest.mark.parametrize("role", [Role.LEARNER, Role.ORG_ADMIN, Role.CONTACT_PERSON])
async def test_only_staff_read_records(
    http: httpx.AsyncClient, token_for: Headers, path: str, role: Role
) -> None:
    assert_problem(await http.get(path, headers=token_for(role)), 403)
    assert_problem(await http.get(path), 401)


async def test_readiness_checks_the_database_kafka_and_the_consumers(
    http: httpx.AsyncClient, runtime: Runtime, kafka_bootstrap: str, new_topic: Any
) -> None:
    # Not ready while the replies' consumer is not running.
    assert_problem(await http.get("/readyz"), 503)
    topic = await new_topic("privacy-replies")
    await new_topic(f"{topic}.dlq")
    runtime.settings = runtime.settings.model_copy(
        update={
            "kafka_bootstrap": kafka_bootstrap,
            "privacy_orchestrator_replies_topic": topic,
            "privacy_orchestrator_consumer_group": f"po-ready-{uuid4().hex[:8]}",
        }
    )
    stop = asyncio.Event()
    relay = asyncio.create_task(runtime.relay.run(stop))
    try:
        async with runtime.subscriptions_for().running() as subscriptions:
            runtime.subscriptions = subscriptions
            deadline = time.monotonic() + 60
            while (ready := await http.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, ready.text
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await relay
