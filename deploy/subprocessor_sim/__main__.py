"""Command line of the sub-processor simulator: settings from the environment, overridable by
options, then uvicorn on loopback until SIGTERM.

    PYTHONPATH=deploy uv run --no-sync python -m subprocessor_sim --port 8201

Environment (docs/decisions.md): BYGGRYGG_SUBPROCESSOR_SIM_PORT (8201),
BYGGRYGG_SUBPROCESSOR_SIM_SECRET_FILE (the simulator's own secret: signs its callbacks),
BYGGRYGG_SUBPROCESSOR_SIM_ORCHESTRATOR_SECRET_FILE (the orchestrator's secret for this
sub-processor: verifies its requests), BYGGRYGG_SUBPROCESSOR_SIM_MODE (normal),
BYGGRYGG_SUBPROCESSOR_SIM_STATE_FILE (records kept in memory when unset),
BYGGRYGG_SUBPROCESSOR_SIM_CALLBACK_ATTEMPTS (10), BYGGRYGG_SUBPROCESSOR_SIM_CALLBACK_BACKOFF_SECONDS
(0.5, doubled after each failed attempt, at most 30).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from standardwebhooks import Webhook

from .app import Simulator, build_app
from .callbacks import CallbackSender, RetryPolicy
from .holdings import Holdings
from .modes import MODE_SYNTAX, InvalidMode, Mode, ModeBook

ENV = "BYGGRYGG_SUBPROCESSOR_SIM_"
DEFAULT_PORT = 8201


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(ENV + name) or default


def read_keys(path: Path) -> list[Webhook]:
    """The ``whsec_`` secrets in a file, one per line (several while one is rotated)."""
    secrets = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    keys = [Webhook(secret) for secret in secrets if secret]
    if not keys:
        raise ValueError(f"{path}: no secret in the file")
    return keys


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="subprocessor_sim", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(_env("PORT", str(DEFAULT_PORT)) or 0))
    parser.add_argument("--secret-file", type=Path, default=_env("SECRET_FILE"))
    parser.add_argument(
        "--orchestrator-secret-file", type=Path, default=_env("ORCHESTRATOR_SECRET_FILE")
    )
    parser.add_argument("--mode", default=_env("MODE", "normal"), help=MODE_SYNTAX)
    parser.add_argument("--state-file", type=Path, default=_env("STATE_FILE"))
    parser.add_argument(
        "--callback-attempts", type=int, default=int(_env("CALLBACK_ATTEMPTS", "10") or 10)
    )
    parser.add_argument(
        "--callback-backoff",
        type=float,
        default=float(_env("CALLBACK_BACKOFF_SECONDS", "0.5") or 0.5),
        help="seconds before the first retry of a callback, doubled after each",
    )
    args = parser.parse_args(argv)
    if args.secret_file is None or args.orchestrator_secret_file is None:
        parser.error(
            f"both secret files are needed: --secret-file/{ENV}SECRET_FILE and "
            f"--orchestrator-secret-file/{ENV}ORCHESTRATOR_SECRET_FILE"
        )
    if args.callback_attempts < 1 or args.callback_backoff < 0:
        parser.error("--callback-attempts is at least 1, --callback-backoff not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        simulator = Simulator(
            request_verifiers=read_keys(args.orchestrator_secret_file),
            callbacks=CallbackSender(
                read_keys(args.secret_file),
                RetryPolicy(args.callback_attempts, args.callback_backoff),
            ),
            holdings=Holdings(args.state_file),
            modes=ModeBook.starting_with(Mode.parse(args.mode)),
        )
    except (OSError, ValueError, InvalidMode) as error:
        print(f"subprocessor-sim: {error}", file=sys.stderr, flush=True)
        return 1
    print(
        f"subprocessor-sim: HeiHallo simulator on {args.host}:{args.port}, mode {args.mode}, "
        f"{len(simulator.holdings)} subject(s) held",
        flush=True,
    )
    try:
        asyncio.run(serve(simulator, args.host, args.port))
    except OSError as error:  # the port is taken
        print(f"subprocessor-sim: {error}", file=sys.stderr, flush=True)
        return 1
    print("subprocessor-sim: stopped", flush=True)
    return 0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``serve`` stops it, and the exit status is 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(simulator: Simulator, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT, then finish the open requests and stop the callbacks."""
    config = uvicorn.Config(build_app(simulator), host=host, port=port, log_level="warning")
    server = _Server(config)

    def stop() -> None:
        server.should_exit = True

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    await server.serve()
    if not server.started:  # uvicorn logs why (the port is taken) and returns
        raise OSError(f"could not listen on {host}:{port}")


if __name__ == "__main__":
    sys.exit(main())
