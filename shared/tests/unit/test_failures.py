"""Which errors of a batch are a record's, the infrastructure's, the schema's, or a bug's."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import pytest

from byggrygg_shared.failures import is_record_error, is_transient


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.SerializationError("could not serialize access"),
        asyncpg.DeadlockDetectedError("deadlock detected"),
        asyncpg.LockNotAvailableError("canceling statement due to lock timeout"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        ConnectionResetError("reset by peer"),
        TimeoutError(),
    ],
    ids=type,
)
def test_the_infrastructures_errors_are_transient(error: Exception) -> None:
    assert is_transient(error)
    assert not is_record_error(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.UndefinedColumnError("column does not exist"),
        asyncpg.UndefinedTableError("relation does not exist"),
        asyncpg.InsufficientPrivilegeError("permission denied"),
    ],
    ids=type,
)
def test_a_schema_the_code_does_not_find_is_nobodys_record(error: Exception) -> None:
    # Every record would fail alike: the batch waits for the schema, nothing is dead-lettered.
    assert is_transient(error)
    assert not is_record_error(error)


@pytest.mark.parametrize(
    "error",
    [TypeError("a bug"), KeyError("a bug"), AttributeError("a bug")],
    ids=type,
)
def test_bugs_are_neither_transient_nor_a_records_values(error: Exception) -> None:
    assert not is_transient(error)
    assert not is_record_error(error)


def test_a_value_the_database_refuses_is_the_records() -> None:
    assert is_record_error(asyncpg.NumericValueOutOfRangeError("integer out of range"))
    assert is_record_error(asyncpg.UniqueViolationError("duplicate key"))


def _lost_then_wrapped() -> None:
    try:
        raise asyncpg.ConnectionDoesNotExistError("connection was closed")
    except asyncpg.ConnectionDoesNotExistError as lost:
        raise RuntimeError("apply failed") from lost


def _raised_while_handling_a_lost_socket() -> None:
    try:
        raise OSError("socket closed")
    except OSError:
        raise KeyError("while handling it")  # noqa: B904 - the implicit context is the point


@pytest.mark.parametrize("fails", [_lost_then_wrapped, _raised_while_handling_a_lost_socket])
def test_an_error_raised_while_the_connection_was_lost_is_transient(
    fails: Callable[[], None],
) -> None:
    # e.g. a savepoint's rollback failing on a dead connection, a wrapper hiding the cause
    with pytest.raises(Exception) as caught:  # noqa: PT011 - any: its chain decides
        fails()
    assert is_transient(caught.value)
