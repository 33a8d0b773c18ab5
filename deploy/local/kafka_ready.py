"""Waits until a Kafka broker answers an admin request (list topics), or gives up.

Readiness is asked of the broker itself, never read from its log. Exit status 0 when ready,
1 on timeout or when the broker process (``--pid``) died while we waited.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time

from aiokafka.admin import AIOKafkaAdminClient


def _process_alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _answers(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        await admin.list_topics()
        return True
    except Exception:  # any failure here just means "not yet"
        return False
    finally:
        await admin.close()


async def wait_ready(bootstrap: str, wait_s: float, pid: int | None) -> bool:
    """Polls the broker until it answers; False after wait_s or when its process is gone."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not _process_alive(pid):
            print(f"kafka_ready: broker process {pid} exited", file=sys.stderr)
            return False
        if await _answers(bootstrap):
            return True
        await asyncio.sleep(0.5)
    print(f"kafka_ready: no answer from {bootstrap} within {wait_s:.0f}s", file=sys.stderr)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--pid", type=int, default=None, help="broker pid to watch")
    args = parser.parse_args()
    # aiokafka logs every refused connection at ERROR while the broker is still starting.
    logging.basicConfig(level=logging.CRITICAL)
    ready = asyncio.run(wait_ready(args.bootstrap, args.timeout, args.pid))
    return 0 if ready else 1


if __name__ == "__main__":
    sys.exit(main())
