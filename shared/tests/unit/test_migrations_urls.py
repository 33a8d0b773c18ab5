"""The asyncpg DSN becomes a SQLAlchemy URL on the asyncpg dialect; nothing else is accepted."""

from __future__ import annotations

import pytest

from byggrygg_shared.migrations import NotPostgreSQL, sqlalchemy_url


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+asyncpg"])
def test_a_postgresql_dsn_runs_on_the_asyncpg_dialect(scheme: str) -> None:
    url = sqlalchemy_url(f"{scheme}://byggrygg@127.0.0.1:54329/identity")
    assert url == "postgresql+asyncpg://byggrygg@127.0.0.1:54329/identity"


@pytest.mark.parametrize("dsn", ["mysql://u@h/db", "sqlite:///x.db", "127.0.0.1:54329/db"])
def test_another_database_is_refused(dsn: str) -> None:
    with pytest.raises(NotPostgreSQL):
        sqlalchemy_url(dsn)
