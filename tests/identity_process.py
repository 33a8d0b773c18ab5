"""The real identity service alone, as the identity tests (tests/e2e, tests/security) see it.

A thin view of `platform_processes.running_platform([])`: identity's process on databases,
secrets and a port of its own, with a platform-staff account (see that module for how it is
started, isolated and stopped).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from .platform_processes import Platform, running_platform


@dataclass(frozen=True)
class IdentityProcess:
    """What a test needs to know about the running identity service."""

    base_url: str
    pid: int
    database_url: str
    keyring_database_url: str
    master_key_file: Path
    jwt_private_key_file: Path
    staff_email: str
    staff_password: str
    log_file: Path
    topic_prefix: str

    def topic(self, name: str) -> str:
        """This session's name of the platform topic `name` (its own copy, see Platform)."""
        return self.topic_prefix + name

    @classmethod
    def of(cls, platform: Platform) -> IdentityProcess:
        identity = platform["identity"]
        return cls(
            base_url=identity.base_url,
            pid=identity.pid,
            database_url=identity.database_url,
            keyring_database_url=platform.keyring_database_url,
            master_key_file=platform.master_key_file,
            jwt_private_key_file=platform.jwt_private_key_file,
            staff_email=platform.staff_email,
            staff_password=platform.staff_password,
            log_file=identity.log_file,
            topic_prefix=platform.topic_prefix,
        )


@contextlib.asynccontextmanager
async def running_identity(
    *, admin_dsn: str, kafka_bootstrap: str, workdir: Path
) -> AsyncIterator[IdentityProcess]:
    """Migrate, create a staff account, serve; yield once /readyz is 200; stop and clean up."""
    async with running_platform(
        [], admin_dsn=admin_dsn, kafka_bootstrap=kafka_bootstrap, workdir=workdir
    ) as platform:
        yield IdentityProcess.of(platform)
