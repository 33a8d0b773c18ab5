"""What an error raised while a batch is applied says about its cause.

Shared by the consumers that apply a fetched batch in one transaction: reporting's projection
(``projection.apply_or_isolate``, ``batch_attempts``) and every privacy participant
(``participant.Participant.handle_batch``). Three kinds, because each calls for a different
answer:

- **A record's values** (``RECORD_ERRORS``): the database refuses one record (a value out of a
  column's range). Applying again cannot help: that record alone is dead-lettered at once.
- **The infrastructure** (``TRANSIENT_ERRORS``): the connection, the server, a lock or
  serialization conflict. Nothing is wrong with any record, so nothing may be dead-lettered:
  the batch fails and is applied again (in place, then read again from Kafka) until the
  database is back. A connection lost mid-batch can surface as any of these (asyncpg's
  ``ConnectionDoesNotExistError``, ``InterfaceError``, the server's ``AdminShutdownError``
  after ``pg_terminate_backend``, or the socket's ``OSError``).
- **The schema** (``SCHEMA_ERRORS``): the code and the database disagree (an undefined column
  or table, a privilege missing: a migration rolled back or not yet applied). No record is at
  fault and every one would fail alike, so, as for the infrastructure, nothing may be
  dead-lettered: the partition waits (its lag shows on the ops page) until the schema is
  fixed, then goes on where it stopped.
- **Anything else** is a bug some record triggers (a ``TypeError`` or ``KeyError`` in a code
  path). It may be intermittent, so the batch is tried again a few times; a record that still
  raises it alone is then dead-lettered, so one bad record cannot stall its partition.
"""

from __future__ import annotations

from typing import Final

import asyncpg

__all__ = [
    "RECORD_ERRORS",
    "SCHEMA_ERRORS",
    "TRANSIENT_ERRORS",
    "is_record_error",
    "is_transient",
]

# Errors of one record's values, not of the database or the batch: retrying cannot help.
RECORD_ERRORS: Final[tuple[type[Exception], ...]] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
)

# Errors of the database or the way to it: another attempt, later, succeeds.
TRANSIENT_ERRORS: Final[tuple[type[Exception], ...]] = (
    OSError,  # sockets, ConnectionError, TimeoutError (also the pool's acquire time-out)
    asyncpg.InterfaceError,  # the client side: connection closed, ...
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,  # class 08, ConnectionDoesNotExistError among them
    asyncpg.TransactionRollbackError,  # class 40: serialization failure, deadlock detected
    asyncpg.InsufficientResourcesError,  # class 53: disk full, out of memory, connections
    asyncpg.OperatorInterventionError,  # class 57: admin shutdown, cancelled, starting up
    asyncpg.PostgresSystemError,  # class 58: the server's I/O
    asyncpg.LockNotAvailableError,  # 55P03: lock_timeout
    asyncpg.InternalServerError,  # class XX: the server's own error (corruption, ...)
)

# The code and the database disagree (class 42, e.g. UndefinedColumnError): not a record's
# fault; another attempt succeeds once the schema is fixed.
SCHEMA_ERRORS: Final[tuple[type[Exception], ...]] = (asyncpg.SyntaxOrAccessError,)

# How far a chain of causes is followed (an error raised while handling another).
_MAX_CHAIN: Final = 8


def is_transient(error: BaseException) -> bool:
    """True if ``error``, or an error it was raised from or while handling, is transient (the
    infrastructure's, or the schema's: ``SCHEMA_ERRORS``), so no record may take the blame.

    The chain counts because a savepoint's rollback on a dead connection raises its own error
    with the original as context, and a wrapper may hide the cause: when in doubt the batch is
    read again rather than a healthy record dead-lettered."""
    current: BaseException | None = error
    for _ in range(_MAX_CHAIN):
        if current is None:
            return False
        if isinstance(current, TRANSIENT_ERRORS + SCHEMA_ERRORS):
            return True
        current = current.__cause__ or current.__context__
    return False


def is_record_error(error: BaseException) -> bool:
    """True if the database refused one record's values (and nothing transient is behind)."""
    return isinstance(error, RECORD_ERRORS) and not is_transient(error)
