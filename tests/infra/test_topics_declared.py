"""Every contract's topic, and its dead-letter sibling, is declared in deploy/topics.toml."""

import tomllib
from pathlib import Path

from byggrygg_shared.messaging import dead_letter_topic
from byggrygg_shared.schema_snapshots import platform_contracts

TOPICS_FILE = Path(__file__).resolve().parents[2] / "deploy" / "topics.toml"


def declared_topics() -> set[str]:
    with TOPICS_FILE.open("rb") as file:
        return {topic["name"] for topic in tomllib.load(file)["topic"]}


def test_every_contract_topic_and_its_dead_letters_are_declared() -> None:
    declared = declared_topics()
    needed = {topic for contract in platform_contracts() for topic in contract.topics()}
    assert needed, "no contracts registered"
    missing = sorted(
        name
        for topic in needed
        for name in (topic, dead_letter_topic(topic))
        if name not in declared
    )
    assert missing == []


def test_no_event_topic_is_declared_without_a_contract() -> None:
    used = {topic for contract in platform_contracts() for topic in contract.topics()}
    event_topics = {
        name
        for name in declared_topics()
        if not name.endswith(".dlq") and not name.startswith("privacy.")
    }
    assert event_topics - used == set()
