"""Projection tables kept in step with the events, in the transaction that appends them.

One function per aggregate, with an explicit branch per event type. The projections hold
plaintext for queries and uniqueness (the events hold ciphertext); erasure deletes these rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, assert_never

import asyncpg

from byggrygg_shared.keyring import ERASED
from identity.adapters.repositories import Recorded
from identity.domain.organisation import (
    ContractStatus,
    Organisation,
    OrganisationData,
    OrganisationEvent,
)
from identity.domain.user import ProfileField, User, UserEvent, UserStatus


async def project_organisation(
    conn: asyncpg.Connection, recorded: Sequence[Recorded[OrganisationEvent]]
) -> None:
    """Apply new organisation events to the organisation tables."""
    for item in recorded:
        event, stored = item.event, item.stored
        match event:
            case Organisation.Registered():
                await conn.execute(
                    """
                    INSERT INTO organisations (
                        organisation_id, name, organisation_number, phone, email,
                        street_address, postal_code, city, country, invoice_email,
                        billing_reference, contract_starts_on, contract_ends_on, ended_on,
                        status, data_key_ref, billing_key_ref, version, registered_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL,
                            $14, $15, $16, $17, $18)
                    """,
                    event.organisation_id,
                    event.name,
                    event.organisation_number,
                    event.phone,
                    event.email,
                    event.postal_address.street,
                    event.postal_address.postal_code,
                    event.postal_address.city,
                    event.postal_address.country,
                    event.payment.invoice_email,
                    event.payment.billing_reference,
                    event.contract_starts_on,
                    event.contract_ends_on,
                    ContractStatus.ACTIVE.value,
                    event.data_key_ref,
                    event.billing_key_ref,
                    stored.version,
                    stored.recorded_at,
                )
            case Organisation.PersonListed():
                person = event.person
                await conn.execute(
                    """
                    INSERT INTO organisation_people
                        (subject_ref, organisation_id, role, name, email, phone, listed_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    """,
                    person.subject_ref,
                    event.organisation_id,
                    person.role.value,
                    person.contact.name,
                    person.contact.email,
                    person.contact.phone,
                    stored.recorded_at,
                )
                await _set_organisation_version(conn, item)
            case Organisation.ContractEnded():
                await conn.execute(
                    "UPDATE organisations SET status = $2, ended_on = $3, version = $4 "
                    "WHERE organisation_id = $1",
                    event.organisation_id,
                    ContractStatus.ENDED.value,
                    event.ended_on,
                    stored.version,
                )
                await conn.executemany(
                    "INSERT INTO retention_claims (organisation_id, reason, keep_until, "
                    "recorded_at) VALUES ($1, $2, $3, $4)",
                    [
                        (event.organisation_id, c.reason.value, c.keep_until, stored.recorded_at)
                        for c in event.retention
                    ],
                )
            case Organisation.RetentionClaimSettled():
                await conn.execute(
                    "UPDATE retention_claims SET settled_on = $3, settled_by = $4 "
                    "WHERE organisation_id = $1 AND reason = $2",
                    event.organisation_id,
                    event.reason.value,
                    event.settled_on,
                    event.settled_by,
                )
                await _set_organisation_version(conn, item)
            case Organisation.DataErased():
                await conn.execute(
                    _ERASE_SQL[event.part], event.organisation_id, event.erased_on, str(ERASED)
                )
                await _set_organisation_version(conn, item)
            case _:
                assert_never(event)


# What each R2 erasure clears in the projection (required columns get the erased marker, as
# the events' fields read once their key scope is destroyed); the country is not personal.
_ERASE_SQL: Final = {
    OrganisationData.CONTACT_DETAILS: (
        "UPDATE organisations SET phone = $3, email = $3, street_address = $3, "
        "postal_code = $3, city = $3, contact_details_erased_on = $2 WHERE organisation_id = $1"
    ),
    OrganisationData.PAYMENT_INFORMATION: (
        "UPDATE organisations SET invoice_email = $3, billing_reference = NULL, "
        "payment_information_erased_on = $2 WHERE organisation_id = $1"
    ),
}


async def _set_organisation_version(
    conn: asyncpg.Connection, item: Recorded[OrganisationEvent]
) -> None:
    await conn.execute(
        "UPDATE organisations SET version = $2 WHERE organisation_id = $1",
        item.event.organisation_id,
        item.stored.version,
    )


async def project_user(conn: asyncpg.Connection, recorded: Sequence[Recorded[UserEvent]]) -> None:
    """Apply new user events to `users`, `login_emails` and `licences`."""
    for item in recorded:
        event, stored = item.event, item.stored
        match event:
            case User.Created():
                profile = event.profile
                await conn.execute(
                    """
                    INSERT INTO users (user_id, subject_ref, organisation_id, roles, name, phone,
                        gender, language, terms_version, terms_accepted_at, status, version,
                        updated_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                    """,
                    event.user_id,
                    event.subject_ref,
                    event.organisation_id,
                    sorted(role.value for role in event.roles),
                    profile.name,
                    profile.phone,
                    None if profile.gender is None else profile.gender.value,
                    profile.language.value,
                    event.terms_version,
                    event.terms_accepted_at,
                    UserStatus.ACTIVE.value,
                    stored.version,
                    stored.recorded_at,
                )
                await conn.execute(
                    "INSERT INTO login_emails (email, holder_kind, holder_id) "
                    "VALUES ($1, 'user', $2)",
                    profile.email,
                    event.user_id,
                )
            case User.ProfileCorrected():
                columns = {
                    ProfileField.NAME: event.name,
                    ProfileField.PHONE: event.phone,
                    ProfileField.GENDER: None if event.gender is None else event.gender.value,
                    ProfileField.LANGUAGE: None if event.language is None else event.language.value,
                }
                for field, value in columns.items():
                    if field in event.corrected:
                        # The column name comes from the enum above, never from input.
                        await conn.execute(
                            f"UPDATE users SET {field.value} = $2 WHERE user_id = $1",  # noqa: S608
                            event.user_id,
                            value,
                        )
                if ProfileField.EMAIL in event.corrected:
                    # A taken address violates login_emails' primary key: the command fails
                    # and its transaction, events included, rolls back.
                    await conn.execute(
                        "UPDATE login_emails SET email = $2 WHERE holder_id = $1",
                        event.user_id,
                        event.email,
                    )
                await _touch_user(conn, item)
            case User.LicenceGranted():
                await conn.execute(
                    "INSERT INTO licences (licence_id, user_id, organisation_id, granted_at, "
                    "granted_by) VALUES ($1, $2, $3, $4, $5)",
                    event.licence_id,
                    event.user_id,
                    event.organisation_id,
                    stored.recorded_at,
                    event.granted_by,
                )
                await _touch_user(conn, item)
            case User.LicenceRevoked():
                await conn.execute(
                    "UPDATE licences SET revoked_at = $2, revoked_by = $3 WHERE licence_id = $1",
                    event.licence_id,
                    stored.recorded_at,
                    event.revoked_by,
                )
                await _touch_user(conn, item)
            case User.SubscriptionCancelled() | User.Erased():
                # On erasure the privacy handler then deletes or clears the rows themselves.
                await conn.execute(
                    "UPDATE users SET status = $2 WHERE user_id = $1",
                    event.user_id,
                    UserStatus.CANCELLED.value,
                )
                await _touch_user(conn, item)
            case _:
                assert_never(event)


async def _touch_user(conn: asyncpg.Connection, item: Recorded[UserEvent]) -> None:
    await conn.execute(
        "UPDATE users SET version = $2, updated_at = $3 WHERE user_id = $1",
        item.event.user_id,
        item.stored.version,
        item.stored.recorded_at,
    )
