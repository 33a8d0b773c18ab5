"""The ``policy_versions`` projection of ``PolicyPublished`` and its queries (R20)."""

from __future__ import annotations

from datetime import date

import asyncpg

from consent.domain.policy import PolicyVersion

_COLUMNS = "version, text, text_sha256, effective_on, published_at, published_by"


def _version(row: asyncpg.Record) -> PolicyVersion:
    return PolicyVersion(
        version=row["version"],
        text=row["text"],
        text_sha256=row["text_sha256"],
        effective_on=row["effective_on"],
        published_at=row["published_at"],
        published_by=row["published_by"],
    )


async def insert_version(conn: asyncpg.Connection, version: PolicyVersion) -> bool:
    """Project a published version; False if the label is taken (nothing written)."""
    inserted = await conn.fetchval(
        f"INSERT INTO policy_versions ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) "  # noqa: S608
        "ON CONFLICT (version) DO NOTHING RETURNING true",
        version.version,
        version.text,
        version.text_sha256,
        version.effective_on,
        version.published_at,
        version.published_by,
    )
    return bool(inserted)


async def version_named(
    conn: asyncpg.Connection | asyncpg.Pool, label: str
) -> PolicyVersion | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM policy_versions WHERE version = $1",  # noqa: S608
        label,
    )
    return None if row is None else _version(row)


async def current_version(
    conn: asyncpg.Connection | asyncpg.Pool, *, today: date
) -> PolicyVersion | None:
    """The version in effect on ``today`` (see ``consent.domain.policy.current_of``)."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM policy_versions WHERE effective_on <= $1 "  # noqa: S608
        "ORDER BY effective_on DESC, published_at DESC LIMIT 1",
        today,
    )
    return None if row is None else _version(row)


async def all_versions(conn: asyncpg.Connection | asyncpg.Pool) -> list[PolicyVersion]:
    """Every version, newest effective date first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM policy_versions "  # noqa: S608
        "ORDER BY effective_on DESC, published_at DESC"
    )
    return [_version(row) for row in rows]
