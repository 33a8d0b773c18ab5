"""/organisations: customers, their contact persons and administrators, contract end (R1, R2)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from byggrygg_shared.problems import problem_responses
from identity.adapters.queries import OrganisationView
from identity.domain.values import (
    PaymentInformation,
    PersonContact,
    PostalAddress,
    RetentionReason,
    Role,
)
from identity.entrypoints.dependencies import CurrentActor, Deps
from identity.entrypoints.routers.invitations import invitation_read
from identity.schemas import (
    ContractEnd,
    InvitationCreate,
    InvitationRead,
    ListedPersonCreate,
    ListedPersonCreated,
    ListedPersonRead,
    OrganisationCreate,
    OrganisationRead,
    PaymentRead,
    PostalAddressRead,
    RetentionRead,
)
from identity.service_layer import invitations, organisation_retention, organisations

router = APIRouter(prefix="/organisations", tags=["organisations"])


def organisation_read(view: OrganisationView) -> OrganisationRead:
    return OrganisationRead(
        organisation_id=view.organisation_id,
        name=view.name,
        organisation_number=view.organisation_number,
        phone=view.phone,
        email=view.email,
        postal_address=PostalAddressRead(
            street=view.street_address,
            postal_code=view.postal_code,
            city=view.city,
            country=view.country,
        ),
        payment=PaymentRead(
            invoice_email=view.invoice_email, billing_reference=view.billing_reference
        ),
        contract_starts_on=view.contract_starts_on,
        contract_ends_on=view.contract_ends_on,
        ended_on=view.ended_on,
        status=view.status,
        version=view.version,
        registered_at=view.registered_at,
        contact_persons=[ListedPersonRead.model_validate(p) for p in view.contact_persons],
        admins=[ListedPersonRead.model_validate(p) for p in view.admins],
        retention=[RetentionRead.model_validate(r) for r in view.retention],
        contact_details_erased_on=view.contact_details_erased_on,
        payment_information_erased_on=view.payment_information_erased_on,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a customer organisation (platform staff)",
    responses=problem_responses(400, 401, 403, 409, 422),
)
async def register_organisation(
    body: OrganisationCreate, deps: Deps, actor: CurrentActor
) -> OrganisationRead:
    organisation_id = await organisations.handle_register_organisation(
        deps=deps,
        actor=actor,
        name=body.name,
        organisation_number=body.organisation_number,
        phone=body.phone,
        email=str(body.email),
        postal_address=PostalAddress(
            street=body.postal_address.street,
            postal_code=body.postal_address.postal_code,
            city=body.postal_address.city,
            country=body.postal_address.country,
        ),
        payment=PaymentInformation(
            invoice_email=str(body.payment.invoice_email),
            billing_reference=body.payment.billing_reference,
        ),
        contract_starts_on=body.contract_starts_on,
        contract_ends_on=body.contract_ends_on,
    )
    view = await organisations.get_organisation(
        deps=deps, actor=actor, organisation_id=organisation_id
    )
    return organisation_read(view)


@router.get(
    "/{organisation_id}",
    summary="An organisation (staff, or its own administrators and contact persons)",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_organisation(
    organisation_id: UUID, deps: Deps, actor: CurrentActor
) -> OrganisationRead:
    view = await organisations.get_organisation(
        deps=deps, actor=actor, organisation_id=organisation_id
    )
    return organisation_read(view)


@router.post(
    "/{organisation_id}/end-contract",
    summary="End the organisation's contract, recording retention reasons (staff, R2)",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def end_contract(
    organisation_id: UUID, body: ContractEnd, deps: Deps, actor: CurrentActor
) -> OrganisationRead:
    await organisations.handle_end_contract(
        deps=deps,
        actor=actor,
        organisation_id=organisation_id,
        ended_on=body.ended_on,
        retention_reasons=body.retention_reasons,
    )
    view = await organisations.get_organisation(
        deps=deps, actor=actor, organisation_id=organisation_id
    )
    return organisation_read(view)


@router.post(
    "/{organisation_id}/retention/{reason}/settle",
    summary="Record a debt settled or a dispute resolved: its retention claim ends (staff, R2)",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def settle_retention_claim(
    organisation_id: UUID, reason: RetentionReason, deps: Deps, actor: CurrentActor
) -> OrganisationRead:
    await organisation_retention.handle_settle_retention_claim(
        deps=deps, actor=actor, organisation_id=organisation_id, reason=reason
    )
    view = await organisations.get_organisation(
        deps=deps, actor=actor, organisation_id=organisation_id
    )
    return organisation_read(view)


async def _list_person(
    organisation_id: UUID, body: ListedPersonCreate, role: Role, deps: Deps, actor: CurrentActor
) -> ListedPersonCreated:
    listed = await organisations.handle_list_person(
        deps=deps,
        actor=actor,
        organisation_id=organisation_id,
        role=role,
        contact=PersonContact(name=body.name, email=str(body.email), phone=body.phone),
    )
    return ListedPersonCreated(
        person=ListedPersonRead(
            subject_ref=listed.person.subject_ref,
            role=listed.person.role,
            name=listed.person.contact.name,
            email=listed.person.contact.email,
            phone=listed.person.contact.phone,
            listed_at=listed.listed_at,
        ),
        invitation=invitation_read(listed.invitation),
    )


@router.post(
    "/{organisation_id}/contact-persons",
    status_code=status.HTTP_201_CREATED,
    summary="Add a contact person and invite them to log in (staff, R1)",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def add_contact_person(
    organisation_id: UUID, body: ListedPersonCreate, deps: Deps, actor: CurrentActor
) -> ListedPersonCreated:
    return await _list_person(organisation_id, body, Role.CONTACT_PERSON, deps, actor)


@router.post(
    "/{organisation_id}/admins",
    status_code=status.HTTP_201_CREATED,
    summary="Add an administrator and invite them to log in (staff, R1)",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def add_admin(
    organisation_id: UUID, body: ListedPersonCreate, deps: Deps, actor: CurrentActor
) -> ListedPersonCreated:
    return await _list_person(organisation_id, body, Role.ORG_ADMIN, deps, actor)


@router.post(
    "/{organisation_id}/users",
    status_code=status.HTTP_201_CREATED,
    summary="Invite a user to the organisation (its administrators, R7)",
    description="The person becomes a user when they accept the terms with the returned "
    "token (POST /invitations/accept).",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def invite_user(
    organisation_id: UUID, body: InvitationCreate, deps: Deps, actor: CurrentActor
) -> InvitationRead:
    issued = await invitations.handle_invite_user(
        deps=deps, actor=actor, organisation_id=organisation_id, email=str(body.email)
    )
    return invitation_read(issued)
