"""The key ring: per-subject encryption of personal fields, and erasure by key destruction.

DESIGN §4. Every person (``subject_ref``) gets an AES-256-GCM data key on first use. The data
key is stored only wrapped (AES-256-GCM under the master key, with the subject and key id as
associated data, so a wrapped key copied onto another subject's row does not unwrap). Personal
fields in events and tables are stored as self-describing tokens::

    enc:v1:<key id>:<base64(12-byte nonce || ciphertext || 16-byte tag)>

whose associated data binds the token to its subject and key, so a token moved to another
subject fails to decrypt instead of being read under the wrong person.

Erasure (``shred``) deletes the subject's wrapped key and keeps a tombstone. From then on every
copy of every token of that subject, in Kafka, in event stores, in backups of those, is
unreadable: ``decrypt`` returns the ``ERASED`` marker (never raises for that case), and
``encrypt`` for the subject raises ``SubjectErased``. Copies of the key ring database itself
(its backups) still hold the wrapped key until they expire: keep their retention short.

Caching: none. Each ``encrypt``/``decrypt`` reads the key ring (one indexed query) and unwraps,
so a shred is effective for every process at the moment it commits; there is no window in
which another process still holds the unwrapped key in memory.

Errors are named for what went wrong: ``MalformedToken``, ``TokenSubjectMismatch``,
``UnknownDataKey``, ``MasterKeyMismatch``, ``TokenTampered``, ``SubjectErased``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, final

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from byggrygg_shared.db import transaction

__all__ = [
    "ERASED",
    "TOKEN_PREFIX",
    "Erased",
    "KeyRing",
    "KeyRingError",
    "MalformedToken",
    "MasterKeyMismatch",
    "SubjectErased",
    "TokenSubjectMismatch",
    "TokenTampered",
    "UnknownDataKey",
    "create_master_key_file",
    "is_token",
    "load_master_key",
]

TOKEN_PREFIX: Final = "enc:v1:"  # noqa: S105 - a format marker, not a secret
_TOKEN: Final = re.compile(r"^enc:v1:(?P<key_id>[0-9a-f]{32}):(?P<blob>[A-Za-z0-9+/]+={0,2})$")
_NONCE_BYTES: Final = 12
_KEY_BYTES: Final = 32


@final
class Erased:
    """The value of a personal field whose subject was erased. Use the singleton ``ERASED``."""

    _instance: Erased | None = None

    def __new__(cls) -> Erased:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __str__(self) -> str:
        return "[erased]"

    def __repr__(self) -> str:
        return "ERASED"

    def __reduce__(self) -> str:
        return "ERASED"


ERASED: Final = Erased()


class KeyRingError(Exception):
    """Base of the key ring's errors."""


class MalformedToken(KeyRingError, ValueError):
    """The value is not an ``enc:v1:<key id>:<base64>`` token."""


class TokenSubjectMismatch(KeyRingError):
    """The token was encrypted for another subject than the one it is read for."""


class UnknownDataKey(KeyRingError):
    """The token's key id is not in this key ring (another environment's token?)."""


class MasterKeyMismatch(KeyRingError):
    """The data key was wrapped by another master key than the one this process holds."""


class TokenTampered(KeyRingError):
    """The token or its wrapped key failed authentication: altered or corrupted."""


class SubjectErased(KeyRingError):
    """The subject was erased; no new personal data may be encrypted for it."""


def is_token(value: object) -> bool:
    """Whether ``value`` looks like a key-ring token (for inventory checks and redaction)."""
    return isinstance(value, str) and _TOKEN.match(value) is not None


def load_master_key(path: str | os.PathLike[str]) -> bytes:
    """Read the master key: a file holding 32 random bytes, base64-encoded."""
    text = Path(path).read_text(encoding="ascii").strip()
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyMismatch("master key file is not base64") from None
    if len(key) != _KEY_BYTES:
        raise MasterKeyMismatch("master key must be 32 bytes")
    return key


def create_master_key_file(
    path: str | os.PathLike[str], *, random_bytes: Callable[[int], bytes] = os.urandom
) -> bool:
    """Write a new master key to ``path`` (mode 0600) unless one exists; True if written."""
    target = Path(path)
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(random_bytes(_KEY_BYTES)).decode("ascii") + "\n")
    return True


def _utc_now() -> datetime:
    return datetime.now(UTC)


class KeyRing:
    """Encrypt, decrypt and shred personal fields with per-subject data keys.

    ``pool`` is a pool on the key ring database (migrated by ``keyring_schema``).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        master_key: bytes,
        *,
        clock: Callable[[], datetime] = _utc_now,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if len(master_key) != _KEY_BYTES:
            raise MasterKeyMismatch("master key must be 32 bytes")
        self._pool = pool
        self._master = AESGCM(master_key)
        # Identifies the master key without revealing it: lets a mismatch be named as such.
        self._master_key_id = hmac.new(
            master_key, b"byggrygg-keyring-master-key-id", hashlib.sha256
        ).hexdigest()[:16]
        self._clock = clock
        self._random = random_bytes

    async def encrypt(self, subject_ref: str, plaintext: str) -> str:
        """Encrypt ``plaintext`` with the subject's data key (created on first use)."""
        key_id, data_key = await self._data_key_for_writing(subject_ref)
        nonce = self._random(_NONCE_BYTES)
        sealed = AESGCM(data_key).encrypt(
            nonce, plaintext.encode("utf-8"), _token_aad(subject_ref, key_id)
        )
        return f"{TOKEN_PREFIX}{key_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    async def decrypt(self, subject_ref: str, token: str) -> str | Erased:
        """The plaintext of ``token``, or ``ERASED`` if the subject's key was shredded."""
        match = _TOKEN.match(token)
        if match is None:
            raise MalformedToken("not an enc:v1 key-ring token")
        key_id = match["key_id"]
        try:
            blob = base64.b64decode(match["blob"], validate=True)
        except (binascii.Error, ValueError):
            raise MalformedToken("token payload is not base64") from None
        if len(blob) < _NONCE_BYTES + 16:
            raise MalformedToken("token payload is too short")

        row = await self._pool.fetchrow(
            "SELECT s.subject_ref, s.shredded_at, k.wrapped_key, k.master_key_id "
            "FROM keyring_subjects s LEFT JOIN keyring_data_keys k ON k.key_id = s.key_id "
            "WHERE s.key_id = $1",
            key_id,
        )
        if row is None:
            raise UnknownDataKey(f"key {key_id} is not in this key ring")
        if row["subject_ref"] != subject_ref:
            raise TokenSubjectMismatch("token belongs to another subject")
        if row["shredded_at"] is not None or row["wrapped_key"] is None:
            return ERASED
        data_key = self._unwrap(subject_ref, key_id, row["wrapped_key"], row["master_key_id"])
        try:
            plain = AESGCM(data_key).decrypt(
                blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _token_aad(subject_ref, key_id)
            )
        except InvalidTag:
            raise TokenTampered("token failed authentication") from None
        return plain.decode("utf-8")

    async def shred(self, subject_ref: str) -> bool:
        """Destroy the subject's data key; True if this call erased it, False if already erased.

        A subject never seen before gets a tombstone too, so nothing can be encrypted for it.
        """
        return subject_ref in await self.shred_many([subject_ref])

    async def shred_many(self, subject_refs: Sequence[str]) -> set[str]:
        """``shred`` for many subjects in one transaction: the ones this call erased (the
        others were erased before). A privacy participant's batch of erasures shreds its
        subjects' keys with it (``participant.Participant.handle_batch``); ``shred`` is this
        for one subject."""
        if not subject_refs:
            return set()
        now = self._clock()
        refs = sorted(set(subject_refs))  # one lock order for concurrent batches
        async with transaction(self._pool) as conn:
            await conn.execute(
                "DELETE FROM keyring_data_keys WHERE subject_ref = ANY($1::text[])", refs
            )
            rows = await conn.fetch(
                "INSERT INTO keyring_subjects (subject_ref, key_id, created_at, shredded_at) "
                "SELECT s, NULL, $2, $2 FROM unnest($1::text[]) AS s "
                "ON CONFLICT (subject_ref) DO UPDATE SET shredded_at = EXCLUDED.shredded_at "
                "WHERE keyring_subjects.shredded_at IS NULL RETURNING subject_ref",
                refs,
                now,
            )
        return {row["subject_ref"] for row in rows}

    async def is_shredded(self, subject_ref: str) -> bool:
        """Whether the subject has been erased."""
        shredded = await self._pool.fetchval(
            "SELECT shredded_at IS NOT NULL FROM keyring_subjects WHERE subject_ref = $1",
            subject_ref,
        )
        return bool(shredded)

    async def _data_key_for_writing(self, subject_ref: str) -> tuple[str, bytes]:
        async with transaction(self._pool) as conn:
            row = await self._subject_key(conn, subject_ref)
            if row is None:
                key_id = uuid.UUID(bytes=self._random(16)).hex
                data_key = self._random(_KEY_BYTES)
                now = self._clock()
                created = await conn.fetchval(
                    "INSERT INTO keyring_subjects (subject_ref, key_id, created_at) "
                    "VALUES ($1, $2, $3) ON CONFLICT (subject_ref) DO NOTHING RETURNING true",
                    subject_ref,
                    key_id,
                    now,
                )
                if created:
                    await conn.execute(
                        "INSERT INTO keyring_data_keys "
                        "(key_id, subject_ref, wrapped_key, master_key_id, created_at) "
                        "VALUES ($1, $2, $3, $4, $5)",
                        key_id,
                        subject_ref,
                        self._wrap(subject_ref, key_id, data_key),
                        self._master_key_id,
                        now,
                    )
                    return key_id, data_key
                # Another writer created the subject first; its commit is visible now.
                row = await self._subject_key(conn, subject_ref)
                if row is None:  # pragma: no cover - the conflicting row cannot vanish
                    raise KeyRingError("subject row disappeared during key creation")
            if row["shredded_at"] is not None or row["wrapped_key"] is None:
                raise SubjectErased(f"{subject_ref} was erased")
            key_id = str(row["key_id"])
            return key_id, self._unwrap(
                subject_ref, key_id, row["wrapped_key"], row["master_key_id"]
            )

    @staticmethod
    async def _subject_key(conn: asyncpg.Connection, subject_ref: str) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await conn.fetchrow(
            "SELECT s.key_id, s.shredded_at, k.wrapped_key, k.master_key_id "
            "FROM keyring_subjects s LEFT JOIN keyring_data_keys k ON k.key_id = s.key_id "
            "WHERE s.subject_ref = $1",
            subject_ref,
        )
        return row

    def _wrap(self, subject_ref: str, key_id: str, data_key: bytes) -> bytes:
        nonce = self._random(_NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, data_key, _wrap_aad(subject_ref, key_id))

    def _unwrap(self, subject_ref: str, key_id: str, wrapped: bytes, master_key_id: str) -> bytes:
        if master_key_id != self._master_key_id:
            raise MasterKeyMismatch(
                f"data key {key_id} was wrapped by master key {master_key_id}, "
                f"this process holds {self._master_key_id}"
            )
        try:
            return self._master.decrypt(
                wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _wrap_aad(subject_ref, key_id)
            )
        except InvalidTag:
            raise TokenTampered(f"wrapped data key {key_id} failed authentication") from None


def _token_aad(subject_ref: str, key_id: str) -> bytes:
    return f"byggrygg:field:v1:{subject_ref}:{key_id}".encode()


def _wrap_aad(subject_ref: str, key_id: str) -> bytes:
    return f"byggrygg:wrap:v1:{subject_ref}:{key_id}".encode()
