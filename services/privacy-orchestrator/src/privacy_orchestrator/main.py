"""The orchestrator process: ``privacy-orchestrator migrate | serve | export-records |
checkpoint-records | collect-checkpoints | export-public-key | verify-records`` (typer;
``migrate`` and ``serve`` from `byggrygg_shared.service_cli`).

``verify-records`` is the offline verifier of R19: it reads only the export file, the public
key and any anchors (checkpoints or earlier exports: ``domain.anchors``), no settings, no
database, no network, so an auditor can run it anywhere.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from byggrygg_shared import migrations
from byggrygg_shared.contracts.privacy import RECORD_CHECKPOINTS_TOPIC
from byggrygg_shared.db import create_pool
from byggrygg_shared.kafka_topics import TopicNotFound, existing_partitions
from byggrygg_shared.service_cli import service_cli
from privacy_orchestrator.bootstrap import create_service_app, load_signer
from privacy_orchestrator.domain.anchors import (
    Anchor,
    AnchorOutOfRange,
    read_anchor,
    verify_anchored,
)
from privacy_orchestrator.domain.errors import RecordVerificationFailed
from privacy_orchestrator.domain.export import Verified, verify_export
from privacy_orchestrator.domain.signing import (
    RecordSigner,
    load_public_key_pem,
    public_key_pem,
)
from privacy_orchestrator.service_layer.context import Dependencies
from privacy_orchestrator.service_layer.errors import InvalidRange
from privacy_orchestrator.service_layer.records import checkpoint, export_records
from privacy_orchestrator.settings import OrchestratorSettings

# The service folder (services/privacy-orchestrator): alembic.ini and migrations/ live there.
SERVICE_ROOT = Path(__file__).resolve().parents[2]


def migrate_database(database_url: str) -> None:
    """Bring the orchestrator's database to the newest schema (alembic upgrade head)."""
    migrations.migrate(SERVICE_ROOT, database_url)


cli = service_cli(
    "privacy-orchestrator",
    settings=OrchestratorSettings,
    migrate_database=migrate_database,
    create_app=create_service_app,
    default_port=8104,
    serve_help="Serve the HTTP API: completion records and the public key that verifies them.",
)


def _existing_signer(settings: OrchestratorSettings) -> RecordSigner:
    """The service's signer; unlike `serve`, the export commands never create a key."""
    if not settings.privacy_orchestrator_signing_key_file.exists():
        typer.echo(
            f"FAILED: no signing key at {settings.privacy_orchestrator_signing_key_file} (the "
            "service creates it on first start; BYGGRYGG_PRIVACY_ORCHESTRATOR_SIGNING_KEY_FILE "
            "names it)",
            err=True,
        )
        raise typer.Exit(code=2)
    return load_signer(settings)


async def _from_records(
    settings: OrchestratorSettings,
    signer: RecordSigner,
    read: Callable[[Dependencies], Awaitable[bytes]],
) -> bytes:
    """``read`` over the records database, with a one-connection pool for the command."""
    pool = await create_pool(settings.privacy_orchestrator_database_url, min_size=1, max_size=1)
    try:
        return await read(Dependencies(pool=pool, signer=signer))
    finally:
        await pool.close()


def _database_unreadable(error: Exception) -> typer.Exit:
    typer.echo(f"FAILED: cannot read the records database: {type(error).__name__}", err=True)
    return typer.Exit(code=2)


@cli.command("export-records")
def export_records_command(
    out: Annotated[Path, typer.Option(help="Where to write the export file (JSON).")],
    first: Annotated[int, typer.Option("--from", min=1, help="First record.")] = 1,
    last: Annotated[
        int | None, typer.Option("--to", min=0, help="Last record (default: the newest).")
    ] = None,
) -> None:
    """Export completion records from the database, with a manifest signed by the service key."""
    settings = OrchestratorSettings()
    signer = _existing_signer(settings)
    try:
        data = asyncio.run(
            _from_records(settings, signer, lambda deps: export_records(deps, first, last))
        )
    except InvalidRange:
        raise typer.BadParameter("--to must not be before --from", param_hint="--to") from None
    except (OSError, asyncpg.PostgresError) as error:
        raise _database_unreadable(error) from None
    out.write_bytes(data)
    manifest = json.loads(data)["manifest"]
    typer.echo(
        f"exported records {manifest['first_sequence']}..{manifest['last_sequence']} to {out} "
        f"(key {manifest['public_key_fingerprint']})"
    )


@cli.command("checkpoint-records")
def checkpoint_records_command(
    out: Annotated[Path, typer.Option(help="Where to write the checkpoint file (JSON).")],
) -> None:
    """Sign the record chain's head now: keep the file outside the database, and pass it to
    verify-records --anchor to show that no record was removed from the chain's end since."""
    settings = OrchestratorSettings()
    signer = _existing_signer(settings)
    try:
        data = asyncio.run(_from_records(settings, signer, checkpoint))
    except (OSError, asyncpg.PostgresError) as error:
        raise _database_unreadable(error) from None
    out.write_bytes(data)
    head = json.loads(data)["checkpoint"]["chain_head"]
    typer.echo(f"checkpoint of record {head['sequence']} written to {out}")


async def _collect_checkpoints(settings: OrchestratorSettings, out: Path) -> list[Path]:
    """Every record of the checkpoints' topic so far, each written as it is to ``out``."""
    topic = settings.kafka_topic_prefix + RECORD_CHECKPOINTS_TOPIC
    try:
        partitions = await existing_partitions(settings.kafka_bootstrap, [topic])
    except TopicNotFound as missing:
        raise KafkaError(str(missing)) from None
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    await consumer.start()
    written: list[Path] = []
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)

        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        while await behind():
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    head = json.loads(record.value)["checkpoint"]["chain_head"]["sequence"]
                    path = out / f"checkpoint-{int(head):08d}.json"
                    path.write_bytes(record.value)
                    written.append(path)
    finally:
        await consumer.stop()
    return written


@cli.command("collect-checkpoints")
def collect_checkpoints_command(
    out: Annotated[Path, typer.Option(help="A directory for the checkpoint files.")],
) -> None:
    """Save every checkpoint the orchestrator published on Kafka (privacy.record-checkpoints.v1)
    as a file, checkpoint-<record>.json, to keep and pass to verify-records --anchor."""
    settings = OrchestratorSettings()
    out.mkdir(parents=True, exist_ok=True)
    try:
        written = asyncio.run(_collect_checkpoints(settings, out))
    except (KafkaError, OSError, ValueError, KeyError) as error:
        typer.echo(f"FAILED: cannot read the checkpoints: {type(error).__name__}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"saved {len(written)} checkpoint(s) to {out}")


@cli.command("export-public-key")
def export_public_key_command(
    out: Annotated[Path, typer.Option(help="Where to write the public key (PEM).")],
) -> None:
    """Write the public half of the record signing key (what verify-records needs)."""
    signer = _existing_signer(OrchestratorSettings())
    out.write_text(public_key_pem(signer.public_key), encoding="ascii")
    typer.echo(f"wrote public key {signer.fingerprint} to {out}")


@cli.command("verify-records")
def verify_records_command(
    file: Annotated[Path, typer.Option(help="An export file (export-records).")],
    public_key: Annotated[Path, typer.Option(help="The orchestrator's public key (PEM).")],
    sequence: Annotated[
        int | None, typer.Option(min=1, help="Verify only this record (default: all).")
    ] = None,
    anchor: Annotated[
        list[Path] | None,
        typer.Option(
            help="A checkpoint (checkpoint-records) or an earlier export file kept outside the "
            "database; the chain must still hold its head. Repeatable."
        ),
    ] = None,
) -> None:
    """Verify an export offline: hashes, signatures, links and contiguous numbers (R19), and
    that the chain still holds every anchor's head."""
    anchor_files = anchor or []
    if anchor_files and sequence is not None:
        raise typer.BadParameter(
            "anchors are checked against the whole file: leave out --sequence",
            param_hint="--anchor",
        )
    try:
        key = load_public_key_pem(public_key.read_bytes())
    except (OSError, ValueError) as error:
        typer.echo(f"FAILED: cannot read the public key {public_key}: {error}", err=True)
        raise typer.Exit(code=2) from None
    data = _read_file(file)
    try:
        anchors = [
            read_anchor(_read_file(path), key, where=f"anchor {path}") for path in anchor_files
        ]
        verified = (
            verify_anchored(data, key, anchors)
            if anchors
            else verify_export(data, key, sequence=sequence)
        )
    except AnchorOutOfRange as failure:
        typer.echo(f"CANNOT CHECK: {failure}", err=True)
        raise typer.Exit(code=2) from None
    except RecordVerificationFailed as failure:
        typer.echo(f"FAILED: {failure}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(_verified_message(verified, sequence, anchors))


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        typer.echo(f"FAILED: cannot read {path}: {error.strerror}", err=True)
        raise typer.Exit(code=2) from None


def _verified_message(verified: Verified, sequence: int | None, anchors: list[Anchor]) -> str:
    if sequence is not None:
        return f"verified record {sequence}"
    if verified.count == 0:
        message = "verified 0 records (the export is empty)"
    else:
        message = (
            f"verified {verified.count} records "
            f"({verified.first_sequence}..{verified.last_sequence})"
        )
    if anchors:
        message += f", holding the heads of {len(anchors)} anchor(s)"
    return message
