"""The Organisation aggregate (R1, R2): a customer, its contract, contact persons and admins.

R2's clocks: once the contract has ended (``ended_on`` reached), the contact details go at
once (``ContactDetailsErased``); the payment information is kept while a retention claim is
in force: bookkeeping until its ``keep_until``, an outstanding debt or a legal dispute until
staff settle it (``RetentionClaimSettled``); then it goes too (``PaymentInformationErased``).
``due_erasures`` says which is due on a day; the service layer runs it (at contract end, on a
settlement, and every day by the retention worker). Name and organisation number stay: they
identify the legal entity the bookkeeping and the completion records refer to, and are not
personal data.

The events are nested in the aggregate and carry plaintext; the adapters encrypt the personal
fields with the key ring before they are stored (DESIGN §4).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import assert_never
from uuid import UUID

from byggrygg_shared.aggregate import Aggregate
from identity.domain.errors import (
    ContractAlreadyEnded,
    ContractNotEnded,
    DuplicateRetentionReason,
    InvalidContractPeriod,
    PersonAlreadyListed,
    RetentionClaimNotFound,
    RetentionClaimNotSettleable,
)
from identity.domain.orgnumber import OrganisationNumber
from identity.domain.values import (
    PaymentInformation,
    PersonContact,
    PostalAddress,
    RetentionClaim,
    RetentionReason,
    Role,
    normalise_email,
)


class OrganisationData(StrEnum):
    """The parts of an organisation's data that R2 erases on clocks of their own."""

    CONTACT_DETAILS = "contact_details"  # phone, e-mail, postal address (key data_key_ref)
    PAYMENT_INFORMATION = "payment_information"  # invoice e-mail, billing ref (billing_key_ref)


# Claims with a date run their clock; the statutory one cannot be ended early.
SETTLEABLE_REASONS = frozenset({RetentionReason.OUTSTANDING_DEBT, RetentionReason.LEGAL_DISPUTE})


class ContractStatus(StrEnum):
    """Whether the organisation is a customer (R6: user data lives while it is)."""

    ACTIVE = "active"
    ENDED = "ended"


@dataclass(frozen=True)
class ListedPerson:
    """A contact person or administrator as the organisation knows them."""

    subject_ref: str
    role: Role
    contact: PersonContact


def add_years(day: date, years: int) -> date:
    """`day` moved `years` ahead; 29 February falls back to the 28th in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


class Organisation(Aggregate["OrganisationEvent"]):
    """A customer organisation; the stream id is `organisation-<id>`."""

    @dataclass(frozen=True)
    class Registered:
        organisation_id: UUID
        name: str
        organisation_number: str
        phone: str
        email: str
        postal_address: PostalAddress
        payment: PaymentInformation
        contract_starts_on: date
        contract_ends_on: date | None
        # Key-ring scopes: contact details and payment information are encrypted under
        # separate keys so R2 can destroy the first at contract end and keep the second for
        # the bookkeeping period.
        data_key_ref: str
        billing_key_ref: str
        registered_by: str

    @dataclass(frozen=True)
    class PersonListed:
        organisation_id: UUID
        person: ListedPerson
        listed_by: str

    @dataclass(frozen=True)
    class ContractEnded:
        organisation_id: UUID
        ended_on: date
        retention: tuple[RetentionClaim, ...]
        ended_by: str

    @dataclass(frozen=True)
    class RetentionClaimSettled:
        organisation_id: UUID
        reason: RetentionReason
        settled_on: date
        settled_by: str

    @dataclass(frozen=True)
    class DataErased:
        organisation_id: UUID
        part: OrganisationData
        erased_on: date

    id: UUID
    name: str
    organisation_number: OrganisationNumber
    status: ContractStatus
    contract_starts_on: date
    contract_ends_on: date | None
    ended_on: date | None
    retention: tuple[RetentionClaim, ...]
    settled: dict[RetentionReason, date]
    erased: dict[OrganisationData, date]
    data_key_ref: str
    billing_key_ref: str
    people: dict[str, ListedPerson]

    @classmethod
    def register(
        cls,
        *,
        organisation_id: UUID,
        name: str,
        organisation_number: OrganisationNumber,
        phone: str,
        email: str,
        postal_address: PostalAddress,
        payment: PaymentInformation,
        contract_starts_on: date,
        contract_ends_on: date | None,
        data_key_ref: str,
        billing_key_ref: str,
        registered_by: str,
    ) -> Organisation:
        """A new customer with a signed cooperation agreement (R1)."""
        if contract_ends_on is not None and contract_ends_on < contract_starts_on:
            raise InvalidContractPeriod("the contract cannot end before it starts")
        organisation = cls._blank()
        organisation._raise(
            cls.Registered(
                organisation_id=organisation_id,
                name=name.strip(),
                organisation_number=organisation_number.value,
                phone=phone,
                email=normalise_email(email),
                postal_address=postal_address,
                payment=payment,
                contract_starts_on=contract_starts_on,
                contract_ends_on=contract_ends_on,
                data_key_ref=data_key_ref,
                billing_key_ref=billing_key_ref,
                registered_by=registered_by,
            )
        )
        return organisation

    @property
    def is_active(self) -> bool:
        return self.status is ContractStatus.ACTIVE

    def list_person(
        self, *, role: Role, contact: PersonContact, subject_ref: str, listed_by: str
    ) -> ListedPerson:
        """Add a contact person or an administrator (R1); each person is listed once."""
        if role not in (Role.CONTACT_PERSON, Role.ORG_ADMIN):
            raise ValueError(f"an organisation lists contact persons and admins, not {role}")
        self._require_active()
        email = normalise_email(contact.email)
        if any(person.contact.email == email for person in self.people.values()):
            raise PersonAlreadyListed("this e-mail is already listed for the organisation")
        person = ListedPerson(
            subject_ref=subject_ref,
            role=role,
            contact=PersonContact(name=contact.name.strip(), email=email, phone=contact.phone),
        )
        self._raise(self.PersonListed(organisation_id=self.id, person=person, listed_by=listed_by))
        return person

    def end_contract(
        self,
        *,
        ended_on: date,
        reasons: Iterable[RetentionReason],
        bookkeeping_years: int,
        ended_by: str,
    ) -> None:
        """End the contract (R2), recording each reason to keep data with its own clock."""
        self._require_active()
        if ended_on < self.contract_starts_on:
            raise InvalidContractPeriod("the contract cannot end before it starts")
        wanted = list(reasons)
        if len(set(wanted)) != len(wanted):
            raise DuplicateRetentionReason("each retention reason may be given once")
        claims = tuple(
            RetentionClaim(
                reason=reason,
                keep_until=add_years(ended_on, bookkeeping_years)
                if reason is RetentionReason.BOOKKEEPING
                else None,
            )
            for reason in sorted(wanted)
        )
        self._raise(
            self.ContractEnded(
                organisation_id=self.id, ended_on=ended_on, retention=claims, ended_by=ended_by
            )
        )

    # --- R2: what outlives the contract, and for how long --------------------------------

    def claims_in_force(self, today: date) -> tuple[RetentionClaim, ...]:
        """The retention claims that still keep the payment information on ``today``."""
        return tuple(
            claim
            for claim in self.retention
            if claim.reason not in self.settled
            and (claim.keep_until is None or today < claim.keep_until)
        )

    def due_erasures(self, today: date) -> tuple[OrganisationData, ...]:
        """What R2 erases on ``today`` that is not erased yet (nothing while a customer)."""
        if self.ended_on is None or today < self.ended_on:
            return ()
        due = [OrganisationData.CONTACT_DETAILS]
        if not self.claims_in_force(today):
            due.append(OrganisationData.PAYMENT_INFORMATION)
        return tuple(part for part in due if part not in self.erased)

    def erase_due_data(self, today: date) -> tuple[OrganisationData, ...]:
        """Record the erasure of what is due on ``today``; the parts erased (the caller
        destroys their key scopes, ``key_scope_of``)."""
        due = self.due_erasures(today)
        for part in due:
            self._raise(self.DataErased(organisation_id=self.id, part=part, erased_on=today))
        return due

    def key_scope_of(self, part: OrganisationData) -> str:
        """The key-ring scope the part's fields are encrypted under in the events."""
        if part is OrganisationData.CONTACT_DETAILS:
            return self.data_key_ref
        return self.billing_key_ref

    def settle_claim(self, *, reason: RetentionReason, on: date, settled_by: str) -> None:
        """Staff record that a debt was settled or a dispute resolved (R2): its claim ends."""
        if self.is_active:
            raise ContractNotEnded("the organisation is still a customer")
        if not any(claim.reason is reason for claim in self.retention):
            raise RetentionClaimNotFound(f"no {reason} claim was recorded at the contract end")
        if reason not in SETTLEABLE_REASONS:
            raise RetentionClaimNotSettleable(f"{reason} runs its statutory period")
        if reason in self.settled:
            raise RetentionClaimNotSettleable(f"the {reason} claim was settled before")
        self._raise(
            self.RetentionClaimSettled(
                organisation_id=self.id, reason=reason, settled_on=on, settled_by=settled_by
            )
        )

    def _require_active(self) -> None:
        if not self.is_active:
            raise ContractAlreadyEnded("the organisation's contract has ended")

    def _apply(self, event: OrganisationEvent) -> None:
        match event:
            case Organisation.Registered():
                self.id = event.organisation_id
                self.name = event.name
                self.organisation_number = OrganisationNumber(event.organisation_number)
                self.status = ContractStatus.ACTIVE
                self.contract_starts_on = event.contract_starts_on
                self.contract_ends_on = event.contract_ends_on
                self.ended_on = None
                self.retention = ()
                self.settled = {}
                self.erased = {}
                self.data_key_ref = event.data_key_ref
                self.billing_key_ref = event.billing_key_ref
                self.people = {}
            case Organisation.PersonListed():
                self.people[event.person.subject_ref] = event.person
            case Organisation.ContractEnded():
                self.status = ContractStatus.ENDED
                self.ended_on = event.ended_on
                self.retention = event.retention
            case Organisation.RetentionClaimSettled():
                self.settled[event.reason] = event.settled_on
            case Organisation.DataErased():
                self.erased[event.part] = event.erased_on
            case _:
                assert_never(event)


OrganisationEvent = (
    Organisation.Registered
    | Organisation.PersonListed
    | Organisation.ContractEnded
    | Organisation.RetentionClaimSettled
    | Organisation.DataErased
)
