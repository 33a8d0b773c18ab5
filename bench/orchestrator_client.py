"""The privacy orchestrator as platform staff use it: file requests, read them, and follow the
completion-record chain, verifying every record as it appears (R19).

``RecordFollower`` keeps the chain's last verified record and reads only the records after it
(``GET /records?from=``); each is checked with the orchestrator's own offline verifier
(``privacy_orchestrator.domain.chain.verify_entry``: shape, hash, Ed25519 signature with the
key from ``/.well-known/orchestrator-key``) and linked to the one before it (``prev_hash``,
contiguous numbers, from the genesis on). A request counts as done for the bench only once its
record is verified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from privacy_orchestrator.domain.canonical import GENESIS_HASH
from privacy_orchestrator.domain.chain import verify_entry
from privacy_orchestrator.domain.errors import RecordVerificationFailed
from privacy_orchestrator.domain.signing import load_public_key_pem

__all__ = [
    "FINAL_STATES",
    "OrchestratorCalls",
    "RecordFollower",
    "RequestRefused",
    "VerifiedRecord",
]

FINAL_STATES: Final = frozenset({"completed", "partially_completed", "rejected"})
PAGE: Final = 1000  # the most records GET /records answers at once


class RequestRefused(RuntimeError):
    """The orchestrator answered a call with an unexpected status."""


def _checked(response: httpx.Response, expected: int, what: str) -> Any:
    if response.status_code != expected:
        raise RequestRefused(f"{what}: {response.status_code} {response.text[:300]}")
    return response.json()


@dataclass
class OrchestratorCalls:
    """The staff calls the benchmarks make; ``token`` is a staff access token (renewed by the
    caller through ``renew``)."""

    http: httpx.AsyncClient
    renew: Callable[[], Any]  # async () -> str: a fresh staff token
    token: str = field(default="", repr=False)

    async def _headers(self) -> dict[str, str]:
        if not self.token:
            self.token = str(await self.renew())
        return {"Authorization": f"Bearer {self.token}"}

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, url, headers=await self._headers(), **kwargs)
        if response.status_code == 401:  # the token expired during a long run
            self.token = ""
            response = await self.http.request(method, url, headers=await self._headers(), **kwargs)
        return response

    async def file_erasure(self, subject_ref: str, organisation_id: str | None = None) -> str:
        body: dict[str, Any] = {"kind": "erasure", "subject_ref": subject_ref}
        if organisation_id is not None:
            body["organisation_id"] = organisation_id
        response = await self._call("POST", "/requests", json=body)
        return str(_checked(response, 201, "file erasure")["request_id"])

    async def request(self, request_id: str) -> dict[str, Any]:
        response = await self._call("GET", f"/requests/{request_id}")
        return dict(_checked(response, 200, "read request"))

    async def requests_in(self, state: str, limit: int = 1000) -> list[dict[str, Any]]:
        response = await self._call("GET", "/requests", params={"state": state, "limit": limit})
        return list(_checked(response, 200, "list requests"))

    async def records_from(self, first: int) -> list[dict[str, Any]]:
        response = await self._call("GET", "/records", params={"from": first})
        return list(_checked(response, 200, "read records"))

    async def public_key(self) -> Ed25519PublicKey:
        response = await self.http.get("/.well-known/orchestrator-key")
        pem = str(_checked(response, 200, "public key")["public_key_pem"])
        key: Ed25519PublicKey = load_public_key_pem(pem.encode())
        return key


@dataclass(frozen=True)
class VerifiedRecord:
    sequence: int
    request_id: str
    outcome: str
    trigger: str | None  # for an automatic request: what filed it ("contract_ended", ...)
    organisation_id: str | None  # the organisation the request was filed for, if any
    participants: int  # how many services reported on the request
    sub_processors: int  # how many sub-processors confirmed it (R13)
    document: dict[str, Any] = field(repr=False)


class RecordFollower:
    """Reads the chain forward from where it stopped, verifying each new record."""

    def __init__(self, calls: OrchestratorCalls, key: Ed25519PublicKey) -> None:
        self._calls = calls
        self._key = key
        self.last_sequence = 0
        self._last_hash = GENESIS_HASH

    async def poll(self) -> list[VerifiedRecord]:
        """Every record added since the last call, verified and linked; may be empty."""
        found: list[VerifiedRecord] = []
        while True:
            entries = await self._calls.records_from(self.last_sequence + 1)
            for entry in entries:
                found.append(self._verify(entry))
            if len(entries) < PAGE:
                return found

    def _verify(self, entry: Any) -> VerifiedRecord:
        expected = self.last_sequence + 1
        sequence = verify_entry(entry, self._key, position=f"record {expected}")
        if sequence != expected:
            raise RecordVerificationFailed(f"record {sequence}", f"expected record {expected}")
        if entry["prev_hash"] != self._last_hash:
            raise RecordVerificationFailed(
                f"record {sequence}", "prev_hash does not match the record before it"
            )
        self.last_sequence, self._last_hash = sequence, str(entry["hash"])
        document = dict(entry["record"])
        requested_by = document.get("requested_by") or {}
        return VerifiedRecord(
            sequence=sequence,
            request_id=str(document["request"]["request_id"]),
            outcome=str(document["outcome"]),
            trigger=requested_by.get("trigger"),
            organisation_id=requested_by.get("organisation_id"),
            participants=len(document.get("participants", [])),
            sub_processors=len(document.get("sub_processors", [])),
            document=document,
        )
