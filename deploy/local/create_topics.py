"""Creates the Kafka topics declared in deploy/topics.toml that do not exist yet.

Idempotent: existing topics are left exactly as they are (a differing partition count is
reported, never changed). Replication factor 1: the local broker is a single node.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

TOPICS_FILE = Path(__file__).resolve().parents[1] / "topics.toml"
NO_ERROR = 0


@dataclass(frozen=True)
class TopicSpec:
    """One declared topic."""

    name: str
    partitions: int
    config: dict[str, str]


def load_specs(path: Path = TOPICS_FILE) -> list[TopicSpec]:
    """Reads the declarations; Kafka wants every config value as a string."""
    with path.open("rb") as f:
        raw: dict[str, Any] = tomllib.load(f)
    specs = [
        TopicSpec(
            name=entry["name"],
            partitions=int(entry["partitions"]),
            config={key: str(value) for key, value in entry.get("config", {}).items()},
        )
        for entry in raw.get("topic", [])
    ]
    names = [spec.name for spec in specs]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ValueError(f"{path}: topics declared twice: {sorted(duplicates)}")
    return specs


async def create_missing(bootstrap: str, specs: list[TopicSpec]) -> list[str]:
    """Creates the topics that are missing; returns their names."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = {t["topic"]: t for t in await admin.describe_topics()}
        for spec in specs:
            found = existing.get(spec.name)
            if found is not None and len(found["partitions"]) != spec.partitions:
                print(
                    f"create_topics: {spec.name} has {len(found['partitions'])} partitions, "
                    f"declared {spec.partitions}: left unchanged",
                    file=sys.stderr,
                )
        missing = [spec for spec in specs if spec.name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [NewTopic(s.name, s.partitions, 1, topic_configs=s.config) for s in missing]
        )
        failures = []
        for topic_error in response.topic_errors:
            name, code = topic_error[0], topic_error[1]
            # Another process may have created it between our look and our request.
            if code not in (NO_ERROR, TopicAlreadyExistsError.errno):
                failures.append(f"{name}: {for_code(code).__name__}")
        if failures:
            raise RuntimeError("could not create topics: " + "; ".join(failures))
        return [spec.name for spec in missing]
    finally:
        await admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--file", type=Path, default=TOPICS_FILE)
    args = parser.parse_args()
    specs = load_specs(args.file)
    created = asyncio.run(create_missing(args.bootstrap, specs))
    for name in created:
        print(f"created topic {name}")
    print(f"{len(specs)} topics declared, {len(created)} created")
    return 0


if __name__ == "__main__":
    sys.exit(main())
