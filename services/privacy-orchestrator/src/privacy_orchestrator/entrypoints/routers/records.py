"""/records: completion records (R19) for platform staff, and the public key to verify them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from byggrygg_shared.auth import public_jwk
from byggrygg_shared.problems import problem_responses
from privacy_orchestrator.domain.signing import ALGORITHM, public_key_pem
from privacy_orchestrator.entrypoints.dependencies import Deps, Staff
from privacy_orchestrator.schemas import PublicKeyRead, RecordRead
from privacy_orchestrator.service_layer import records

router = APIRouter(tags=["records"])

EXPORT_MEDIA_TYPE = "application/json"


@router.get(
    "/.well-known/orchestrator-key",
    summary="The Ed25519 public key completion records are signed with",
    description="Public: anyone holding an exported file verifies it with this key, offline "
    "(`privacy-orchestrator verify-records`).",
)
async def public_key(deps: Deps) -> PublicKeyRead:
    key = deps.signer.public_key
    return PublicKeyRead(
        algorithm=ALGORITHM,
        fingerprint=deps.signer.fingerprint,
        public_key_pem=public_key_pem(key),
        jwk=public_jwk(key),
    )


@router.get(
    "/records/export",
    summary="Export completion records as a signed, verifiable file",
    description="Platform staff. The file `privacy-orchestrator verify-records` checks; "
    "`from` defaults to 1, `to` to the last record.",
    responses={
        200: {"content": {EXPORT_MEDIA_TYPE: {}}, "description": "The export file."},
        **problem_responses(401, 403, 422),
    },
    response_class=Response,
)
async def export(
    deps: Deps,
    _staff: Staff,
    first: Annotated[int, Query(alias="from", ge=1)] = 1,
    last: Annotated[int | None, Query(alias="to", ge=0)] = None,
) -> Response:
    body = await records.export_records(deps, first, last)
    return Response(
        body,
        media_type=EXPORT_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="completion-records.json"'},
    )


@router.get(
    "/records/checkpoint",
    summary="A signed checkpoint of the record chain's head, to keep outside the database",
    description="Platform staff (and the auditors they hand it to). The chain head (sequence "
    "and hash) signed with the records' key. Kept elsewhere, it is an anchor: "
    "`privacy-orchestrator verify-records --anchor FILE` then fails a later export whose chain "
    "no longer holds that record with that hash (records removed from the end, head rewound).",
    responses={
        200: {"content": {EXPORT_MEDIA_TYPE: {}}, "description": "The checkpoint file."},
        **problem_responses(401, 403),
    },
    response_class=Response,
)
async def checkpoint(deps: Deps, _staff: Staff) -> Response:
    return Response(
        await records.checkpoint(deps),
        media_type=EXPORT_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="records-checkpoint.json"'},
    )


@router.get(
    "/records",
    summary="Completion records in a range of sequence numbers",
    description="Platform staff. At most 1000 at a time; a missing number is simply absent.",
    responses=problem_responses(401, 403, 422),
)
async def list_records(
    deps: Deps,
    _staff: Staff,
    first: Annotated[int, Query(alias="from", ge=1)] = 1,
    last: Annotated[int | None, Query(alias="to", ge=1)] = None,
) -> list[RecordRead]:
    found = await records.list_records(deps, first, last)
    return [RecordRead.model_validate(record.entry()) for record in found]


@router.get(
    "/records/{sequence}",
    summary="One completion record",
    description="Platform staff.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_record(deps: Deps, _staff: Staff, sequence: Annotated[int, Path(ge=1)]) -> RecordRead:
    record = await records.get_record(deps, sequence)
    return RecordRead.model_validate(record.entry())
