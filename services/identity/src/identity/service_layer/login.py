"""Logging in and creating staff accounts: the only code that touches password hashes."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from identity.adapters.queries import fetch_login
from identity.domain.values import Role, normalise_email
from identity.service_layer.conflicts import conflict_for
from identity.service_layer.context import Dependencies
from identity.service_layer.errors import InvalidCredentials


@dataclass(frozen=True)
class Authenticated:
    """Who logged in; the API turns it into an access token."""

    user_id: UUID
    subject_ref: str
    organisation_id: UUID | None
    roles: frozenset[Role]


async def handle_log_in(*, deps: Dependencies, email: str, password: str) -> Authenticated:
    """Check an e-mail and password. Every failure is the same `InvalidCredentials`."""
    async with deps.pool.acquire() as conn:
        record = await fetch_login(conn, normalise_email(email))
    matched = await deps.passwords.verify(
        None if record is None else record.password_hash, password
    )
    if record is None or not matched or not record.may_log_in or record.subject_ref is None:
        raise InvalidCredentials("invalid e-mail or password")
    roles = (
        frozenset({Role.PLATFORM_STAFF})
        if record.holder_kind == "staff"
        else frozenset(Role(role) for role in record.roles)
    )
    return Authenticated(
        user_id=record.holder_id,
        subject_ref=record.subject_ref,
        organisation_id=record.organisation_id,
        roles=roles,
    )


async def handle_create_staff(*, deps: Dependencies, email: str, password: str) -> UUID:
    """A platform_staff account (run from the CLI: there is no default account)."""
    password_hash = await deps.passwords.hash(password)
    staff_id = deps.ids.new_id()
    now = deps.clock()
    try:
        async with deps.unit_of_work() as conn:
            await conn.execute(
                "INSERT INTO login_emails (email, holder_kind, holder_id) VALUES ($1, 'staff', $2)",
                normalise_email(email),
                staff_id,
            )
            await conn.execute(
                "INSERT INTO staff_accounts (staff_id, subject_ref, created_at) "
                "VALUES ($1, $2, $3)",
                staff_id,
                deps.ids.new_subject_ref(),
                now,
            )
            await conn.execute(
                "INSERT INTO credentials (principal_id, password_hash, updated_at) "
                "VALUES ($1, $2, $3)",
                staff_id,
                password_hash,
                now,
            )
    except asyncpg.UniqueViolationError as error:
        raise conflict_for(error) from None
    return staff_id
