"""The platform `make up` runs, as a client reaches it: through the gateway on 127.0.0.1:8080.

Tests that need the gateway itself (links in mails point at it) use the services of `make up`
and its mail sink rather than processes of their own. `require_gateway_route` fails the test
with "run make up" when a route does not answer; `make_staff_account` makes a platform-staff
account of the test's own with `identity create-staff` (the command people run, with the
`BYGGRYGG_*` settings of .run/env that `make test` exports) and logs it in.
"""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

import httpx
import pytest

from .platform_processes import CLI_TIMEOUT_S, run_service_cli

GATEWAY = "http://127.0.0.1:8080"


async def require_gateway_route(client: httpx.AsyncClient, service: str) -> None:
    """The gateway routes /api/<service>/ to a service that is ready."""
    url = f"{GATEWAY}/api/{service}/readyz"
    try:
        response = await client.get(url)
    except httpx.TransportError:
        pytest.fail(f"the gateway is not answering at {GATEWAY}: run `make up`", pytrace=False)
    if response.status_code != 200:
        pytest.fail(
            f"{url} answered {response.status_code}: run `make up` ({service} must be running)",
            pytrace=False,
        )


async def make_staff_account(client: httpx.AsyncClient, workdir: Path) -> tuple[str, str]:
    """(e-mail, access token) of a new platform-staff account on `make up`'s identity."""
    email = f"staff-{uuid.uuid4().hex[:12]}@e2e.example.no"
    password = secrets.token_urlsafe(24)
    password_file = workdir / "staff-password"
    password_file.write_text(password + "\n", encoding="utf-8")
    password_file.chmod(0o600)
    await run_service_cli(
        "identity",
        ["create-staff", "--email", email, "--password-file", str(password_file)],
        {**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        workdir / "identity-cli.log",
        CLI_TIMEOUT_S,
    )
    response = await client.post(
        f"{GATEWAY}/api/identity/auth/token", json={"email": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return email, str(response.json()["access_token"])
