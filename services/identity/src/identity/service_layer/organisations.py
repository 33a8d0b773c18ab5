"""Command handlers and queries of organisations (R1, R2): staff register customers, list their
contact persons and administrators, and end contracts. Ending a contract also runs R2's clocks
at once (``erase_due_organisation_data``): the contact details go when the end date has come,
the payment information too when no retention claim keeps it (``organisation_retention`` runs
the same clocks later, as dates pass and claims are settled)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from identity.adapters.projections import project_organisation
from identity.adapters.queries import OrganisationView, fetch_organisation
from identity.adapters.repositories import Recorded
from identity.domain.organisation import (
    ListedPerson,
    Organisation,
    OrganisationData,
    OrganisationEvent,
)
from identity.domain.orgnumber import OrganisationNumber
from identity.domain.values import (
    PaymentInformation,
    PersonContact,
    PostalAddress,
    RetentionReason,
    Role,
)
from identity.service_layer.access import may_view_organisation, require_staff
from identity.service_layer.conflicts import conflict_for
from identity.service_layer.context import Actor, Dependencies
from identity.service_layer.errors import OrganisationNotFound, OrganisationNumberInUse
from identity.service_layer.invitations import (
    IssuedInvitation,
    delete_invitations_of,
    issue_invitation,
)


@dataclass(frozen=True)
class ListedWithInvitation:
    person: ListedPerson
    listed_at: datetime
    invitation: IssuedInvitation


async def handle_register_organisation(
    *,
    deps: Dependencies,
    actor: Actor,
    name: str,
    organisation_number: str,
    phone: str,
    email: str,
    postal_address: PostalAddress,
    payment: PaymentInformation,
    contract_starts_on: date,
    contract_ends_on: date | None,
) -> UUID:
    """Platform staff register a customer that signed the agreement (R1)."""
    require_staff(actor)
    number = OrganisationNumber.parse(organisation_number)
    organisation_id = deps.ids.new_id()
    try:
        async with deps.unit_of_work() as conn:
            taken = await conn.fetchval(
                "SELECT true FROM organisations WHERE organisation_number = $1", number.value
            )
            if taken:
                raise OrganisationNumberInUse("an organisation with this number is registered")
            organisation = Organisation.register(
                organisation_id=organisation_id,
                name=name,
                organisation_number=number,
                phone=phone,
                email=email,
                postal_address=postal_address,
                payment=payment,
                contract_starts_on=contract_starts_on,
                contract_ends_on=contract_ends_on,
                data_key_ref=deps.ids.new_subject_ref(),
                billing_key_ref=deps.ids.new_subject_ref(),
                registered_by=actor.user_id,
            )
            await save_organisation(conn, deps, organisation, organisation_id)
    except asyncpg.UniqueViolationError as error:
        raise conflict_for(error) from None
    return organisation_id


async def handle_list_person(
    *,
    deps: Dependencies,
    actor: Actor,
    organisation_id: UUID,
    role: Role,
    contact: PersonContact,
) -> ListedWithInvitation:
    """Staff add a contact person or administrator (R1) and invite them to log in."""
    require_staff(actor)
    try:
        async with deps.unit_of_work() as conn:
            organisation = await load_organisation(conn, deps, organisation_id)
            person = organisation.list_person(
                role=role,
                contact=contact,
                subject_ref=deps.ids.new_subject_ref(),
                listed_by=actor.user_id,
            )
            # The invitation first: it claims the e-mail address, and a taken address must fail
            # the command before anything is encrypted (no key is made for a refused person).
            invitation = await issue_invitation(
                conn,
                deps,
                organisation_id=organisation_id,
                email=person.contact.email,
                roles=frozenset({role}),
                subject_ref=person.subject_ref,
                invited_by=actor.user_id,
            )
            recorded = await save_organisation(conn, deps, organisation, organisation_id)
    except asyncpg.UniqueViolationError as error:
        raise conflict_for(error) from None
    return ListedWithInvitation(
        person=person, listed_at=recorded[0].stored.recorded_at, invitation=invitation
    )


async def handle_end_contract(
    *,
    deps: Dependencies,
    actor: Actor,
    organisation_id: UUID,
    ended_on: date,
    retention_reasons: Sequence[RetentionReason],
) -> None:
    """Staff end a customer's contract (R2, R6), recording why data must still be kept."""
    require_staff(actor)
    async with deps.unit_of_work() as conn:
        organisation = await load_organisation(conn, deps, organisation_id)
        organisation.end_contract(
            ended_on=ended_on,
            reasons=retention_reasons,
            bookkeeping_years=deps.policy.bookkeeping_years,
            ended_by=actor.user_id,
        )
        await erase_due_organisation_data(deps, organisation, deps.clock().date())
        await save_organisation(conn, deps, organisation, organisation_id)
        await delete_invitations_of(conn, organisation_id)


async def erase_due_organisation_data(
    deps: Dependencies, organisation: Organisation, today: date
) -> tuple[OrganisationData, ...]:
    """Record the erasure of what R2 lets go on ``today`` and destroy its key scopes, in the
    caller's unit of work (the caller saves the organisation). The shred runs before the
    commit, as a participant's does: a crash in between leaves the key gone and the projection
    not yet cleared, and the next pass of the clocks (the part is still due) clears it."""
    parts = organisation.erase_due_data(today)
    for part in parts:
        await deps.keys.shred(organisation.key_scope_of(part))
    return parts


async def get_organisation(
    *, deps: Dependencies, actor: Actor, organisation_id: UUID
) -> OrganisationView:
    may_view_organisation(actor, organisation_id)
    async with deps.pool.acquire() as conn:
        view = await fetch_organisation(conn, organisation_id)
    if view is None:
        raise OrganisationNotFound(str(organisation_id))
    return view


async def save_organisation(
    conn: asyncpg.Connection, deps: Dependencies, organisation: Organisation, organisation_id: UUID
) -> list[Recorded[OrganisationEvent]]:
    """Append the organisation's new events and update its projection, in the caller's unit."""
    recorded = await deps.organisations.save(
        conn,
        organisation,
        aggregate_id=organisation_id,
        metadata=deps.metadata(organisation_id=organisation_id),
    )
    await project_organisation(conn, recorded)
    return recorded


async def load_organisation(
    conn: asyncpg.Connection, deps: Dependencies, organisation_id: UUID
) -> Organisation:
    organisation = await deps.organisations.get(conn, organisation_id)
    if organisation is None:
        raise OrganisationNotFound(str(organisation_id))
    return organisation
