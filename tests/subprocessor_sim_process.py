"""The sub-processor simulator (deploy/subprocessor_sim) as a real child process, and a real
HTTP receiver for its signed callbacks: for tests of the simulator and of the orchestrator.

    async with running_subprocessor_sim(tmp_path) as sim, callback_receiver(sim.secret) as rx:
        status = await sim.send("erasure", request_id="r-1", subject_ref="s-1",
                                callback_url=rx.url)
        [message] = await rx.wait_for(1)

The receiver verifies every callback with ``byggrygg_shared.webhooks`` (what the orchestrator
uses), answers as told (``rx.answers``: statuses to give before 204s), and keeps what it
accepted and what it refused. Nothing here waits a fixed time: every wait polls to a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from byggrygg_shared.sources import Clock, utc_now
from byggrygg_shared.webhooks import (
    MemoryWebhookReceipts,
    VerifiedWebhook,
    WebhookRejected,
    WebhookSigner,
    WebhookVerifier,
    generate_secret,
)

from .platform_processes import ROOT, free_port, log_tail, stop_process_group

DEADLINE_S = 30.0


@dataclass
class SimProcess:
    """A running simulator: its address, its two secrets and its admin API."""

    base_url: str
    pid: int
    secret: str  # the simulator's own: its callbacks are signed with it
    orchestrator_secret: str  # what the orchestrator signs its requests with
    secret_file: Path  # where each secret is kept (an orchestrator reads them from there)
    orchestrator_secret_file: Path
    log_file: Path
    process: asyncio.subprocess.Process | None  # None: one this test did not start
    http: httpx.AsyncClient

    def request_body(
        self,
        action: str,
        *,
        request_id: str,
        subject_ref: str,
        callback_url: str,
        changes: dict[str, Any] | None = None,
    ) -> bytes:
        data: dict[str, Any] = {
            "request_id": request_id,
            "subject_ref": subject_ref,
            "callback_url": callback_url,
        }
        if changes is not None:
            data["changes"] = changes
        payload = {"type": f"privacy.{action}.requested", "timestamp": "", "data": data}
        return json.dumps(payload).encode()

    async def post_signed(
        self,
        body: bytes,
        *,
        webhook_id: str | None = None,
        secret: str | None = None,
        clock: Clock = utc_now,
    ) -> httpx.Response:
        """POST /privacy-requests signed as the orchestrator signs (or with another secret)."""
        signer = WebhookSigner([secret or self.orchestrator_secret], clock=clock)
        headers = signer.headers(body, webhook_id=webhook_id or signer.new_id())
        return await self.http.post(
            "/privacy-requests",
            content=body,
            headers={**headers, "content-type": "application/json"},
        )

    async def seed(self, subject_ref: str, record: dict[str, Any]) -> None:
        response = await self.http.put(f"/admin/subjects/{subject_ref}", json=record)
        assert response.status_code == 204, response.text

    async def held(self, subject_ref: str) -> dict[str, Any] | None:
        response = await self.http.get(f"/admin/subjects/{subject_ref}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    async def set_mode(self, mode: str, **scope: str) -> None:
        response = await self.http.put("/admin/mode", json={"mode": mode, **scope})
        assert response.status_code == 200, response.text

    async def received(self) -> dict[str, Any]:
        response = await self.http.get("/admin/received")
        response.raise_for_status()
        return dict(response.json())

    async def wait_for_callback(
        self, request_id: str, done: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """The callback state of ``request_id`` once ``done(state)`` holds."""
        deadline = time.monotonic() + DEADLINE_S
        while True:
            for item in (await self.received())["accepted"]:
                if item["request_id"] == request_id and done(item["callback"]):
                    return dict(item["callback"])
            if time.monotonic() > deadline:
                pytest.fail(f"callback of {request_id} never reached the expected state")
            await asyncio.sleep(0.05)


def _write_secret(path: Path) -> str:
    secret = generate_secret()
    path.write_text(secret + "\n", encoding="utf-8")
    path.chmod(0o600)
    return secret


@contextlib.asynccontextmanager
async def running_subprocessor_sim(
    workdir: Path, *, mode: str = "normal", backoff_s: float = 0.05, attempts: int = 10
) -> AsyncIterator[SimProcess]:
    """``python -m subprocessor_sim`` on a free port with fresh secrets; stopped by its pid."""
    workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - a local directory, once
    secret = _write_secret(workdir / "sim.whsec")
    orchestrator_secret = _write_secret(workdir / "orchestrator.whsec")
    port = free_port()
    log_file = workdir / "subprocessor-sim.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "deploy"),
        "BYGGRYGG_SUBPROCESSOR_SIM_PORT": str(port),
        "BYGGRYGG_SUBPROCESSOR_SIM_SECRET_FILE": str(workdir / "sim.whsec"),
        "BYGGRYGG_SUBPROCESSOR_SIM_ORCHESTRATOR_SECRET_FILE": str(workdir / "orchestrator.whsec"),
        "BYGGRYGG_SUBPROCESSOR_SIM_MODE": mode,
        "BYGGRYGG_SUBPROCESSOR_SIM_STATE_FILE": str(workdir / "holdings.json"),
        "BYGGRYGG_SUBPROCESSOR_SIM_CALLBACK_ATTEMPTS": str(attempts),
        "BYGGRYGG_SUBPROCESSOR_SIM_CALLBACK_BACKOFF_SECONDS": str(backoff_s),
    }
    with log_file.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "subprocessor_sim",
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as http:
            deadline = time.monotonic() + DEADLINE_S
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                if process.returncode is not None or time.monotonic() > deadline:
                    pytest.fail(f"the simulator did not start:\n{log_tail(log_file)}")
                await asyncio.sleep(0.05)
            yield SimProcess(
                base_url=base_url,
                pid=process.pid,
                secret=secret,
                orchestrator_secret=orchestrator_secret,
                secret_file=workdir / "sim.whsec",
                orchestrator_secret_file=workdir / "orchestrator.whsec",
                log_file=log_file,
                process=process,
                http=http,
            )
    finally:
        await stop_process_group(process)


@dataclass
class Delivered:
    """One callback the receiver verified and accepted."""

    message: VerifiedWebhook
    payload: dict[str, Any]
    received_at: float  # time.monotonic()


@dataclass
class CallbackReceiver:
    """What the receiver saw; ``answers`` are statuses to give (in order) before 204s."""

    url: str
    verifier: WebhookVerifier
    answers: list[int] = field(default_factory=list)
    accepted: list[Delivered] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)  # webhook-id of every POST
    seen: MemoryWebhookReceipts = field(default_factory=MemoryWebhookReceipts)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        self.attempts.append(request.headers.get("webhook-id", ""))
        if self.answers:
            return Response(status_code=self.answers.pop(0))
        try:
            message = await self.verifier.verify_once(body, dict(request.headers), self.seen)
        except WebhookRejected as error:
            self.refused.append(error.reason)
            return Response(status_code=error.status)
        self.accepted.append(Delivered(message, dict(message.json()), time.monotonic()))
        return Response(status_code=204)

    async def wait_for(self, count: int) -> list[Delivered]:
        deadline = time.monotonic() + DEADLINE_S
        while len(self.accepted) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"{len(self.accepted)} callback(s) accepted, expected {count}")
            await asyncio.sleep(0.05)
        return list(self.accepted)


class _Server(uvicorn.Server):
    """uvicorn inside the test's event loop: the test runner keeps its signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def callback_receiver(
    secret: str, *, port: int | None = None
) -> AsyncIterator[CallbackReceiver]:
    """A real HTTP server on loopback verifying callbacks signed with ``secret``."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port or 0))
    bound = int(listener.getsockname()[1])
    receiver = CallbackReceiver(
        url=f"http://127.0.0.1:{bound}/callbacks", verifier=WebhookVerifier([secret])
    )
    app = Starlette(routes=[Route("/callbacks", receiver.handle, methods=["POST"])])
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        deadline = time.monotonic() + DEADLINE_S
        while not server.started:
            if task.done() or time.monotonic() > deadline:
                pytest.fail("the callback receiver did not start")
            await asyncio.sleep(0.01)
        yield receiver
    finally:
        server.should_exit = True
        await task
        listener.close()
