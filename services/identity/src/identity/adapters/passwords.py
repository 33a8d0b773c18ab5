"""Password hashing with argon2id (DESIGN §7), off the event loop.

Hashing is deliberately slow (that is its job), so it runs in a worker thread: a login must not
stall every other request of the process.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Passwords:
    """Hash and verify passwords; parameters are argon2-cffi's (RFC 9106) defaults."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # Verified against when the e-mail is unknown, so that a login for an unknown address
        # takes as long as one with a wrong password (no account enumeration by timing).
        self._decoy = self._hasher.hash("decoy password that matches nothing")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; with no hash, spend the same time and say no."""
        target = password_hash if password_hash is not None else self._decoy
        try:
            matched = await asyncio.to_thread(self._hasher.verify, target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None
