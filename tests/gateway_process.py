"""The nginx gateway of deploy/nginx in front of a test session's services.

`make up`'s gateway (127.0.0.1:8080) routes to `make up`'s services, which run the code of
when they were started; a session's own gateway routes `/api/<service>/` to this session's
processes instead, so a test through it sees the session's data and the code under test. The
config is rendered from the same templates as deploy/local/nginx.sh renders them (same
placeholders, one `service.conf` per service), into the session's folder; nginx runs in the
foreground (`daemon off`) as the leader of its own process group and is stopped by that id.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from .platform_processes import (
    READY_TIMEOUT_S,
    ROOT,
    Platform,
    free_port,
    log_tail,
    stop_process_group,
)

TEMPLATES = ROOT / "deploy" / "nginx"


def render(prefix: Path, port: int, services: dict[str, int]) -> Path:
    """nginx.conf and services/<name>.conf under `prefix`, as deploy/local/nginx.sh writes
    them; `services` maps a route name to its loopback port."""
    (prefix / "services").mkdir(parents=True, exist_ok=True)
    (prefix / "tmp").mkdir(exist_ok=True)
    # Workers of a root master would switch to `nobody`, who may not enter pytest's tmp dirs.
    user_line = "user root;" if os.geteuid() == 0 else ""
    main = (TEMPLATES / "nginx.conf.template").read_text()
    for placeholder, value in (
        ("@USER@", user_line),
        ("@PREFIX@", str(prefix)),
        ("@LOGS@", str(prefix)),
        ("@PORT@", str(port)),
    ):
        main = main.replace(placeholder, value)
    conf = prefix / "nginx.conf"
    conf.write_text(main)
    location = (TEMPLATES / "service.conf.template").read_text()
    for name, service_port in services.items():
        text = location.replace("@NAME@", name).replace("@SERVICE_PORT@", str(service_port))
        (prefix / "services" / f"{name}.conf").write_text(text)
    return conf


async def _nginx(prefix: Path, conf: Path, *args: str) -> asyncio.subprocess.Process:
    log = prefix / "nginx-error.log"
    with (prefix / "nginx-stdout.log").open("ab") as out:
        return await asyncio.create_subprocess_exec(
            "nginx",
            "-p",
            f"{prefix}/",
            "-c",
            str(conf),
            "-e",
            str(log),
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


async def _wait_until_routing(
    process: asyncio.subprocess.Process, base_url: str, prefix: Path
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as client:
        while True:
            if process.returncode is not None:
                pytest.fail(f"nginx exited:\n{log_tail(prefix / 'nginx-error.log')}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                pytest.fail(f"nginx did not listen:\n{log_tail(prefix / 'nginx-error.log')}")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running_gateway(platform: Platform, workdir: Path) -> AsyncIterator[str]:
    """nginx routing `/api/<name>/` to each of `platform`'s services; yields its base URL."""
    prefix = workdir / "nginx"
    port = free_port()
    services = {
        name: int(urlsplit(service.base_url).port or 0)
        for name, service in platform.services.items()
    }
    conf = render(prefix, port, services)
    check = await _nginx(prefix, conf, "-t", "-q")
    if await check.wait() != 0:
        pytest.fail(
            f"the rendered gateway config is invalid:\n{log_tail(prefix / 'nginx-stdout.log')}"
        )
    process = await _nginx(prefix, conf, "-g", "daemon off;")
    base_url = f"http://127.0.0.1:{port}"
    try:
        await _wait_until_routing(process, base_url, prefix)
        yield base_url
    finally:
        await stop_process_group(process)
