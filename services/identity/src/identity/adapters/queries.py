"""Read models: what the API shows, read from the projection tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class ListedPersonView:
    subject_ref: str
    role: str
    name: str
    email: str
    phone: str | None
    listed_at: datetime


@dataclass(frozen=True)
class RetentionView:
    reason: str
    keep_until: date | None
    settled_on: date | None


@dataclass(frozen=True)
class OrganisationView:
    organisation_id: UUID
    name: str
    organisation_number: str
    phone: str
    email: str
    street_address: str
    postal_code: str
    city: str
    country: str
    invoice_email: str
    billing_reference: str | None
    contract_starts_on: date
    contract_ends_on: date | None
    ended_on: date | None
    status: str
    version: int
    registered_at: datetime
    contact_persons: list[ListedPersonView]
    admins: list[ListedPersonView]
    retention: list[RetentionView]
    contact_details_erased_on: date | None
    payment_information_erased_on: date | None


@dataclass(frozen=True)
class LicenceView:
    licence_id: UUID
    granted_at: datetime
    granted_by: str
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class UserView:
    user_id: UUID
    subject_ref: str
    organisation_id: UUID
    roles: list[str]
    name: str
    email: str
    phone: str | None
    gender: str | None
    language: str
    terms_version: str
    terms_accepted_at: datetime
    status: str
    version: int
    licences: list[LicenceView]


@dataclass(frozen=True)
class LoginRecord:
    """What login needs about the holder of an e-mail address."""

    holder_kind: str
    holder_id: UUID
    password_hash: str | None
    subject_ref: str | None
    organisation_id: UUID | None
    roles: list[str]
    may_log_in: bool


async def organisation_exists(conn: asyncpg.Connection, organisation_id: UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM organisations WHERE organisation_id = $1", organisation_id
        )
    )


async def organisation_is_active(conn: asyncpg.Connection, organisation_id: UUID) -> bool:
    status = await conn.fetchval(
        "SELECT status FROM organisations WHERE organisation_id = $1", organisation_id
    )
    return bool(status == "active")


async def fetch_organisation(
    conn: asyncpg.Connection, organisation_id: UUID
) -> OrganisationView | None:
    row = await conn.fetchrow(
        "SELECT * FROM organisations WHERE organisation_id = $1", organisation_id
    )
    if row is None:
        return None
    people = [
        ListedPersonView(
            subject_ref=p["subject_ref"],
            role=p["role"],
            name=p["name"],
            email=p["email"],
            phone=p["phone"],
            listed_at=p["listed_at"],
        )
        for p in await conn.fetch(
            "SELECT * FROM organisation_people WHERE organisation_id = $1 "
            "ORDER BY listed_at, subject_ref",
            organisation_id,
        )
    ]
    retention = [
        RetentionView(reason=r["reason"], keep_until=r["keep_until"], settled_on=r["settled_on"])
        for r in await conn.fetch(
            "SELECT reason, keep_until, settled_on FROM retention_claims "
            "WHERE organisation_id = $1 "
            "ORDER BY reason",
            organisation_id,
        )
    ]
    return OrganisationView(
        organisation_id=row["organisation_id"],
        name=row["name"],
        organisation_number=row["organisation_number"],
        phone=row["phone"],
        email=row["email"],
        street_address=row["street_address"],
        postal_code=row["postal_code"],
        city=row["city"],
        country=row["country"],
        invoice_email=row["invoice_email"],
        billing_reference=row["billing_reference"],
        contract_starts_on=row["contract_starts_on"],
        contract_ends_on=row["contract_ends_on"],
        ended_on=row["ended_on"],
        status=row["status"],
        version=row["version"],
        registered_at=row["registered_at"],
        contact_persons=[p for p in people if p.role == "contact_person"],
        admins=[p for p in people if p.role == "org_admin"],
        retention=retention,
        contact_details_erased_on=row["contact_details_erased_on"],
        payment_information_erased_on=row["payment_information_erased_on"],
    )


async def user_organisation(conn: asyncpg.Connection, user_id: UUID) -> UUID | None:
    """The organisation of a user, for tenant checks; None if there is no such user."""
    organisation_id: UUID | None = await conn.fetchval(
        "SELECT organisation_id FROM users WHERE user_id = $1", user_id
    )
    return organisation_id


async def fetch_user(conn: asyncpg.Connection, user_id: UUID) -> UserView | None:
    row = await conn.fetchrow(
        "SELECT u.*, e.email FROM users u JOIN login_emails e ON e.holder_id = u.user_id "
        "WHERE u.user_id = $1",
        user_id,
    )
    if row is None:
        return None
    licences = [
        LicenceView(
            licence_id=r["licence_id"],
            granted_at=r["granted_at"],
            granted_by=r["granted_by"],
            revoked_at=r["revoked_at"],
        )
        for r in await conn.fetch(
            "SELECT licence_id, granted_at, granted_by, revoked_at FROM licences "
            "WHERE user_id = $1 ORDER BY granted_at, licence_id",
            user_id,
        )
    ]
    return UserView(
        user_id=row["user_id"],
        subject_ref=row["subject_ref"],
        organisation_id=row["organisation_id"],
        roles=list(row["roles"]),
        name=row["name"],
        email=row["email"],
        phone=row["phone"],
        gender=row["gender"],
        language=row["language"],
        terms_version=row["terms_version"],
        terms_accepted_at=row["terms_accepted_at"],
        status=row["status"],
        version=row["version"],
        licences=licences,
    )


async def fetch_login(conn: asyncpg.Connection, email: str) -> LoginRecord | None:
    """The account behind an e-mail address, with its password hash; None if unknown."""
    row = await conn.fetchrow(
        """
        SELECT e.holder_kind, e.holder_id, c.password_hash,
               coalesce(u.subject_ref, s.subject_ref) AS subject_ref,
               u.organisation_id, coalesce(u.roles, ARRAY[]::text[]) AS roles,
               u.status AS user_status, o.status AS organisation_status
        FROM login_emails e
        LEFT JOIN credentials c ON c.principal_id = e.holder_id
        LEFT JOIN users u ON e.holder_kind = 'user' AND u.user_id = e.holder_id
        LEFT JOIN organisations o ON o.organisation_id = u.organisation_id
        LEFT JOIN staff_accounts s ON e.holder_kind = 'staff' AND s.staff_id = e.holder_id
        WHERE e.email = $1
        """,
        email,
    )
    if row is None:
        return None
    kind = row["holder_kind"]
    # A user may log in while their subscription and their organisation's contract run (R6).
    may_log_in = kind == "staff" or (
        kind == "user" and row["user_status"] == "active" and row["organisation_status"] == "active"
    )
    return LoginRecord(
        holder_kind=kind,
        holder_id=row["holder_id"],
        password_hash=row["password_hash"],
        subject_ref=row["subject_ref"],
        organisation_id=row["organisation_id"],
        roles=list(row["roles"]),
        may_log_in=may_log_in,
    )
