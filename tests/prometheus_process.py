"""A real Prometheus (Debian's `prometheus`, deploy/local/install.sh) scraping a test session's
services, for tests/e2e/test_prometheus_dashboard.py.

- `session_scrape_config`: deploy/grafana/prometheus.yml with each job's target replaced by
  that service's address in the session (same job names: the dashboard groups by them) and a
  1 s scrape interval, so a test waits seconds, not minutes, for `rate()` to have two samples;
- `running_prometheus`: `prometheus` on a free loopback port with a scratch TSDB under the
  test's folder, in its own process group (stopped by that id, never by name); yields a client
  of its HTTP API once `/-/ready` answers;
- `promtool_check`: `promtool check config`, as an operator would run it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from .platform_processes import (
    READY_TIMEOUT_S,
    ROOT,
    Platform,
    free_port,
    log_tail,
    stop_process_group,
)

SCRAPE_CONFIG = ROOT / "deploy" / "grafana" / "prometheus.yml"
SCRAPE_INTERVAL = "1s"


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"no {name}: `apt-get install -y --no-install-recommends prometheus` "
            "(deploy/local/install.sh)",
            pytrace=False,
        )
    return found


def promtool_check(config_file: Path) -> str:
    """`promtool check config` of `config_file`; fails the test with its output if refused."""
    done = subprocess.run(
        [binary("promtool"), "check", "config", str(config_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"promtool refused {config_file}:\n{output}"
    return output


def session_scrape_config(platform: Platform, target: Path) -> dict[str, Any]:
    """deploy/grafana/prometheus.yml pointed at `platform`'s services, written to `target`."""
    config = yaml.safe_load(SCRAPE_CONFIG.read_text())
    config["global"]["scrape_interval"] = SCRAPE_INTERVAL
    config["global"]["evaluation_interval"] = SCRAPE_INTERVAL
    for job in config["scrape_configs"]:
        service = platform[job["job_name"]]  # a job naming no service of the platform fails
        address = urlsplit(service.base_url).netloc
        job["static_configs"] = [{"targets": [address]}]
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return dict(config)


@dataclass
class PrometheusApi:
    """Prometheus' HTTP API (/api/v1)."""

    http: httpx.AsyncClient

    async def query(self, expr: str) -> dict[str, Any]:
        """The whole answer of an instant query (`status`, `data` or `error`)."""
        response = await self.http.get("/api/v1/query", params={"query": expr})
        return dict(response.json())

    async def targets(self) -> list[dict[str, Any]]:
        response = await self.http.get("/api/v1/targets", params={"state": "active"})
        response.raise_for_status()
        return list(response.json()["data"]["activeTargets"])


async def _wait_until_ready(
    process: asyncio.subprocess.Process, api: PrometheusApi, log: Path
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if process.returncode is not None:
            pytest.fail(f"prometheus exited with {process.returncode}:\n{log_tail(log)}")
        with contextlib.suppress(httpx.TransportError):
            if (await api.http.get("/-/ready")).status_code == 200:
                return
        if time.monotonic() > deadline:
            pytest.fail(f"prometheus was not ready in {READY_TIMEOUT_S}s:\n{log_tail(log)}")
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def running_prometheus(config_file: Path, workdir: Path) -> AsyncIterator[PrometheusApi]:
    """`prometheus` with `config_file`, its data in `workdir/data`, until the block ends."""
    port = free_port()
    log = workdir / "prometheus.log"
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            binary("prometheus"),
            f"--config.file={config_file}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            cwd=workdir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30.0) as http:
            api = PrometheusApi(http)
            await _wait_until_ready(process, api, log)
            yield api
    finally:
        await stop_process_group(process)
