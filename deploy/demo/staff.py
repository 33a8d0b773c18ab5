"""The demo's platform-staff account: made once with `identity create-staff`, reused after.

Its login e-mail is kept in `.run/demo/staff-email`, its generated password in
`.run/secrets/demo-staff-password` (mode 600, never printed). When the account no longer logs
in (the identity database was reset, a file was removed), a new one is made with a new
e-mail address: create-staff refuses an address that exists.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

from gateway import Gateway, SeedFailed

CREATE_STAFF_TIMEOUT_S = 120


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def _create_staff(root: Path, email: str, password_file: Path) -> None:
    # `uv run --no-sync identity` is how the deploy scripts run identity's commands; the
    # BYGGRYGG_* settings come from the environment (source .run/env).
    result = subprocess.run(  # noqa: S603 - fixed command, no shell
        ["uv", "run", "--no-sync", "identity", "create-staff", "--email", email,  # noqa: S607
         "--password-file", str(password_file)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=CREATE_STAFF_TIMEOUT_S,
        check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SeedFailed(f"identity create-staff failed: {result.stderr.strip()[-500:]}")


async def staff_login(gateway: Gateway, root: Path) -> tuple[str, str, Path]:
    """(access token, staff e-mail, password file) of the demo's staff account."""
    email_file = root / ".run" / "demo" / "staff-email"
    password_file = root / ".run" / "secrets" / "demo-staff-password"
    if email_file.is_file() and password_file.is_file():
        email = email_file.read_text(encoding="utf-8").strip()
        password = password_file.read_text(encoding="utf-8").strip()
        token = await gateway.try_log_in(email, password)
        if token is not None:
            return token, email, password_file
    email = f"demo-staff-{secrets.token_hex(4)}@demo.example.no"
    password = secrets.token_urlsafe(24)
    _write_private(password_file, password + "\n")
    _create_staff(root, email, password_file)
    email_file.parent.mkdir(parents=True, exist_ok=True)
    email_file.write_text(email + "\n", encoding="utf-8")
    return await gateway.log_in(email, password), email, password_file
