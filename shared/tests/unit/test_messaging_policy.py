"""Retry policy pieces that need no broker: back-off and value-free error descriptions."""

from __future__ import annotations

import asyncpg
import pydantic
import pytest
from faststream.kafka import KafkaBroker
from faststream.middlewares import AckPolicy

from byggrygg_shared.messaging import (
    ACK_POLICY,
    Backoff,
    RetryThenDeadLetter,
    dead_letter_topic,
    describe_error,
    make_broker,
    retry_policy,
)


def test_backoff_grows_exponentially_up_to_its_cap() -> None:
    backoff = Backoff(initial=0.1, multiplier=3, maximum=1.0)
    assert [backoff.delay(n) for n in range(1, 5)] == pytest.approx([0.1, 0.3, 0.9, 1.0])


def test_dead_letter_topic_is_topic_dot_dlq() -> None:
    assert dead_letter_topic("identity.user.v1") == "identity.user.v1.dlq"


def test_validation_errors_are_described_without_their_input() -> None:
    class Model(pydantic.BaseModel):
        email: int

    with pytest.raises(pydantic.ValidationError) as caught:
        Model.model_validate({"email": "kari@example.com"})
    text = describe_error(caught.value)
    assert "email" in text
    assert "kari@example.com" not in text


def test_database_errors_are_described_without_the_input_they_quote() -> None:
    # asyncpg's text quotes the rejected value ("invalid input for query argument $1: ...").
    error = asyncpg.DataError("invalid input for query argument $1: 'kari@example.com'")
    text = describe_error(error)
    assert text == "DataError (SQLSTATE 22000)"
    assert "kari" not in text


def test_long_error_messages_are_truncated() -> None:
    assert len(describe_error(RuntimeError("x" * 10_000))) == 500


def test_commit_after_processing_is_the_chosen_ack_policy() -> None:
    assert ACK_POLICY is AckPolicy.NACK_ON_ERROR
    broker = make_broker("127.0.0.1:1")
    assert broker.config.broker_config.ack_policy is AckPolicy.NACK_ON_ERROR


def test_at_least_one_attempt_is_required() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryThenDeadLetter(max_attempts=0)


def test_batch_handlers_find_the_brokers_own_retry_settings() -> None:
    backoff = Backoff(initial=0.5)
    broker = make_broker("127.0.0.1:1", max_attempts=7, backoff=backoff)
    policy = retry_policy(broker)
    assert (policy.max_attempts, policy.backoff) == (7, backoff)


def test_a_broker_without_the_middleware_gives_the_default_retry_settings() -> None:
    policy = retry_policy(KafkaBroker("127.0.0.1:1"))
    assert (policy.max_attempts, policy.backoff) == (5, Backoff())
