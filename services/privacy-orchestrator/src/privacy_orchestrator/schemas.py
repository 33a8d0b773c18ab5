"""The shapes of the orchestrator's HTTP answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RecordRead(BaseModel):
    """A completion record as stored: its document, hash, previous hash and signature."""

    sequence: int = Field(ge=1)
    prev_hash: str = Field(description="SHA-256 of the previous record (64 zeros for the first).")
    hash: str = Field(description="SHA-256 of the record's RFC 8785 canonical JSON.")
    signature: str = Field(description="Ed25519 signature of the hash's 32 bytes, hex.")
    record: dict[str, Any]


class PublicKeyRead(BaseModel):
    """The key completion records are signed with."""

    algorithm: str
    fingerprint: str = Field(description="sha256: + hex SHA-256 of the raw 32-byte public key.")
    public_key_pem: str
    jwk: dict[str, str]
