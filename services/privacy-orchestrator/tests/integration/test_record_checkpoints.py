"""Checkpoints of the records' chain published on Kafka (R19), on the real database and broker:
one per growth of the chain, never two of one head, what reaches the topic is an anchor that
catches records removed from the chain's end with the head rewound, and
``collect-checkpoints`` saves it as a file."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer

from byggrygg_shared.contracts.privacy import RECORD_CHECKPOINTS_TOPIC
from byggrygg_shared.outbox import RelayWorker
from privacy_orchestrator.bootstrap import Runtime, background_workers
from privacy_orchestrator.domain.anchors import read_anchor, verify_anchored
from privacy_orchestrator.domain.errors import RecordVerificationFailed
from privacy_orchestrator.domain.export import verify_export
from privacy_orchestrator.domain.records import RecordContent
from privacy_orchestrator.service_layer.record_checkpoints import (
    CHECKPOINT_STREAM,
    publish_checkpoint,
)
from privacy_orchestrator.service_layer.records import append_completion_record, export_records

from .support import eventually, rewind_chain

MakeContent = Callable[..., RecordContent]
REPOSITORY = Path(__file__).resolve().parents[4]


async def published(runtime: Runtime) -> list[dict[str, Any]]:
    rows = await runtime.pool.fetch(
        "SELECT payload FROM events WHERE stream_id = $1 ORDER BY version", CHECKPOINT_STREAM
    )
    return [dict(row["payload"]) for row in rows]


async def test_a_checkpoint_is_published_once_per_growth_of_the_chain(
    runtime: Runtime, make_content: MakeContent
) -> None:
    deps = runtime.deps
    assert await publish_checkpoint(deps) is None  # an empty chain has nothing to anchor
    for _ in range(2):
        await append_completion_record(deps, make_content())
    first = await publish_checkpoint(deps)
    assert first is not None
    assert first.checkpoint.chain_head.sequence == 2
    assert await publish_checkpoint(deps) is None  # nothing new since
    await append_completion_record(deps, make_content())
    # Two passes at once (two orchestrators): one checkpoint of record 3, not two.
    results = await asyncio.gather(publish_checkpoint(deps), publish_checkpoint(deps))
    assert sum(result is not None for result in results) == 1
    heads = [
        payload["checkpoint"]["chain_head"]["sequence"] for payload in await published(runtime)
    ]
    assert heads == [2, 3]


async def test_the_published_checkpoint_anchors_a_later_export(
    runtime: Runtime, make_content: MakeContent, orchestrator_dsn: str
) -> None:
    deps = runtime.deps
    stored = [await append_completion_record(deps, make_content()) for _ in range(3)]
    await publish_checkpoint(deps)
    (payload,) = await published(runtime)
    anchor = read_anchor(json.dumps(payload).encode(), deps.signer.public_key)
    assert (anchor.sequence, anchor.hash, anchor.kind) == (3, stored[2].hash, "checkpoint")

    await rewind_chain(orchestrator_dsn, to=2)
    shortened = await export_records(deps)
    assert verify_export(shortened, deps.signer.public_key).count == 2
    with pytest.raises(RecordVerificationFailed, match="ends at record 2"):
        verify_anchored(shortened, deps.signer.public_key, [anchor])


async def test_the_relay_puts_the_checkpoint_on_its_topic_as_a_checkpoint_file(
    runtime: Runtime,
    make_content: MakeContent,
    kafka_bootstrap: str,
    new_topic: Any,
    tmp_path: Path,
) -> None:
    prefix = f"t{uuid4().hex[:10]}."
    topic = await new_topic(prefix + RECORD_CHECKPOINTS_TOPIC, exact=True)
    await append_completion_record(runtime.deps, make_content())
    # The served orchestrator runs the publisher among its background workers.
    assert "record-checkpoints" in background_workers(runtime)
    await publish_checkpoint(runtime.deps)
    relay = RelayWorker(
        pool=runtime.pool,
        bootstrap=kafka_bootstrap,
        source_service="privacy-orchestrator",
        topic_prefix=prefix,
    )
    stop = asyncio.Event()
    relaying = asyncio.create_task(relay.run(stop))
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[Any] = []
    try:

        async def arrived() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(records)
            return bool(found)

        await eventually(arrived, "the checkpoint on its topic")
    finally:
        await consumer.stop()
        stop.set()
        await relaying
    (record,) = found
    assert dict(record.headers)["ce_type"] == (b"no.byggrygg.privacy.RecordChainCheckpointed.v1")
    # The record's value is a checkpoint file, as an auditor saves it.
    anchor = read_anchor(record.value, runtime.deps.signer.public_key)
    assert anchor.sequence == 1

    # collect-checkpoints (a real process) saves it as that file.
    env = {"BYGGRYGG_KAFKA_BOOTSTRAP": kafka_bootstrap, "BYGGRYGG_KAFKA_TOPIC_PREFIX": prefix}
    code, out = await collect(tmp_path / "kept", env)
    assert (code, out) == (0, f"saved 1 checkpoint(s) to {tmp_path / 'kept'}\n")
    assert (tmp_path / "kept" / "checkpoint-00000001.json").read_bytes() == record.value
    # A deployment without the topic: a clear message, exit 2.
    code, out = await collect(tmp_path / "none", {**env, "BYGGRYGG_KAFKA_TOPIC_PREFIX": "nope."})
    assert code == 2
    assert out.startswith("FAILED: cannot read the checkpoints: KafkaError"), out


async def collect(out: Path, env: dict[str, str]) -> tuple[int, str]:
    """`privacy-orchestrator collect-checkpoints --out out` as a process: (exit code, output)."""
    process = await asyncio.create_subprocess_exec(
        *("uv", "run", "--no-sync", "privacy-orchestrator", "collect-checkpoints"),
        *("--out", str(out)),
        cwd=REPOSITORY,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()
