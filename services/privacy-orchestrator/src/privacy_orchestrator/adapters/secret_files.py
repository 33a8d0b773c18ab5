"""Webhook secret files, re-read only when they change.

Every sub-processor request is signed and every callback verified with a secret file
(``byggrygg_shared.webhooks.read_secret_file``). Reading it in a worker thread for each one
cost more than the signature at a contract end (thousands a minute). A ``stat`` (no thread:
a local file's metadata) tells whether the file changed; only then is it read again, so a
rotated file still takes effect at the next message, without a restart.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Final

from byggrygg_shared.webhooks import read_secret_file

_Version = tuple[int, int, int]  # inode, size, modification time (ns)


class SecretFiles:
    """Read-through cache of secret files, keyed by path and checked by ``stat`` on each use.

    Raises what ``read_secret_file`` raises (``OSError``, ``ValueError``) for a missing or
    bad file; nothing is cached then."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[_Version, list[str]]] = {}

    async def read(self, path: Path) -> list[str]:
        stat = os.stat(path)
        version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == version:
            return list(cached[1])
        secrets = await asyncio.to_thread(read_secret_file, path)
        self._cache[path] = (version, secrets)
        return list(secrets)


SECRET_FILES: Final = SecretFiles()
"""The process's cache (the files are the process's configuration)."""
