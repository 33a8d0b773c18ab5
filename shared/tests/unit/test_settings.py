"""Platform settings come from BYGGRYGG_* variables, read when built, and services extend them."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from byggrygg_shared.settings import PlatformSettings


class ExampleServiceSettings(PlatformSettings):
    example_database_url: str = "postgresql://byggrygg@127.0.0.1:54329/example"


def test_defaults_are_the_local_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_BOOTSTRAP", "JWKS_URL", "LOG_LEVEL", "KEYRING_MASTER_KEY_FILE"):
        monkeypatch.delenv(f"BYGGRYGG_{name}", raising=False)
    settings = PlatformSettings()

    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.jwks_url == "http://127.0.0.1:8101/.well-known/jwks.json"
    assert settings.keyring_master_key_file == Path(".run/secrets/keyring-master.key")
    assert settings.log_level == "INFO"


def test_environment_is_read_when_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYGGRYGG_KAFKA_BOOTSTRAP", "10.0.0.5:9092")
    monkeypatch.setenv("BYGGRYGG_EXAMPLE_DATABASE_URL", "postgresql://h/example")
    monkeypatch.setenv("BYGGRYGG_LOG_LEVEL", "debug")
    settings = ExampleServiceSettings()

    assert settings.kafka_bootstrap == "10.0.0.5:9092"
    assert settings.example_database_url == "postgresql://h/example"
    assert settings.log_level == "DEBUG"


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYGGRYGG_LOG_LEVEL", "CHATTY")
    with pytest.raises(ValidationError):
        PlatformSettings()


def test_the_kafka_topic_prefix_is_empty_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BYGGRYGG_KAFKA_TOPIC_PREFIX", raising=False)
    assert PlatformSettings().kafka_topic_prefix == ""

    monkeypatch.setenv("BYGGRYGG_KAFKA_TOPIC_PREFIX", "e2e-gw0-1a2b3c.")
    assert PlatformSettings().kafka_topic_prefix == "e2e-gw0-1a2b3c."


@pytest.mark.parametrize("prefix", ["e2e gw0.", "e2e/gw0.", "e2e-æ.", "p" * 65])
def test_a_kafka_topic_prefix_that_cannot_start_a_topic_name_is_refused(
    monkeypatch: pytest.MonkeyPatch, prefix: str
) -> None:
    monkeypatch.setenv("BYGGRYGG_KAFKA_TOPIC_PREFIX", prefix)
    with pytest.raises(ValidationError):
        PlatformSettings()
