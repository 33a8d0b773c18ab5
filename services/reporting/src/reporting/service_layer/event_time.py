"""When a projected event happened, and the statistics period it falls in."""

from __future__ import annotations

from datetime import UTC, date, datetime

from byggrygg_shared.envelope import ReceivedContract, ReceivedEvent


def period_of(moment: datetime) -> date:
    """The statistics period of a moment: the first day of its month (UTC)."""
    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def event_time(event: ReceivedContract | ReceivedEvent) -> datetime:
    """The event's CloudEvents ``time``; the epoch for a foreign event without one, so a
    replay still gives the same rows."""
    return event.time or datetime(1970, 1, 1, tzinfo=UTC)
