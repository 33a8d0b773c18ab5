"""The orchestrator's offline verifier of completion records (R19), run as an operator runs
it: `privacy-orchestrator verify-records` in a process of its own, on an exported file and
the public key the orchestrator publishes."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from .platform_processes import ROOT

VERIFY_TIMEOUT_S = 120.0


async def run_verifier(export_file: Path, key_file: Path) -> tuple[int, str]:
    """`verify-records --file export_file --public-key key_file`: (exit status, output)."""
    process = await asyncio.create_subprocess_exec(
        *("uv", "run", "--no-sync", "privacy-orchestrator", "verify-records"),
        *("--file", str(export_file), "--public-key", str(key_file)),
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=VERIFY_TIMEOUT_S)
    assert process.returncode is not None
    return process.returncode, output.decode(sys.getdefaultencoding(), errors="replace")
