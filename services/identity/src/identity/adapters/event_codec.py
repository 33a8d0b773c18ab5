"""Translate between domain events (plaintext) and integration-event contracts (ciphertext).

Writing: every personal field is encrypted with the key ring under its subject's data key
before the event is stored (DESIGN §4). Reading: the fields are decrypted to rebuild the
aggregate. A field whose key was destroyed reads as the erased marker text for an organisation
(its contact details are shredded at contract end while the aggregate lives on); a user whose
key was destroyed no longer exists for identity, so decoding raises ``SubjectErased``.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from byggrygg_shared.contracts import identity as contracts
from byggrygg_shared.contracts.base import IntegrationEvent
from byggrygg_shared.eventstore import StoredEvent
from byggrygg_shared.keyring import Erased
from identity.domain.organisation import (
    ListedPerson,
    Organisation,
    OrganisationData,
    OrganisationEvent,
)
from identity.domain.user import Profile, ProfileField, User, UserEvent
from identity.domain.values import (
    Gender,
    Language,
    PaymentInformation,
    PersonContact,
    PostalAddress,
    RetentionClaim,
    RetentionReason,
    Role,
)


class FieldCipher(Protocol):
    """The part of the key ring the codec uses (``byggrygg_shared.keyring.KeyRing``)."""

    async def encrypt(self, subject_ref: str, plaintext: str) -> str: ...

    async def decrypt(self, subject_ref: str, token: str) -> str | Erased: ...


class SubjectErased(Exception):
    """The person this stream is about was erased; their events can no longer be read."""


class UnexpectedEvent(Exception):
    """A stream holds an event type that does not belong to its aggregate."""


class _Key:
    """Seal and open the fields of one subject."""

    def __init__(self, cipher: FieldCipher, subject_ref: str) -> None:
        self._cipher = cipher
        self._subject_ref = subject_ref

    async def seal(self, value: str) -> str:
        return await self._cipher.encrypt(self._subject_ref, value)

    async def seal_optional(self, value: str | None) -> str | None:
        return None if value is None else await self.seal(value)

    async def open(self, token: str) -> str | Erased:
        return await self._cipher.decrypt(self._subject_ref, token)

    async def open_or_marker(self, token: str) -> str:
        """Plaintext, or "[erased]" when the key is gone (an organisation's shredded data)."""
        return str(await self.open(token))

    async def open_optional_or_marker(self, token: str | None) -> str | None:
        return None if token is None else await self.open_or_marker(token)

    async def open_required(self, token: str) -> str:
        value = await self.open(token)
        if isinstance(value, Erased):
            raise SubjectErased(self._subject_ref)
        return value

    async def open_optional_required(self, token: str | None) -> str | None:
        return None if token is None else await self.open_required(token)


# --- organisations ------------------------------------------------------------------------


async def encode_organisation_event(
    event: OrganisationEvent, cipher: FieldCipher
) -> IntegrationEvent:
    """The contract of a domain event of an organisation, personal fields encrypted."""
    match event:
        case Organisation.Registered():
            data = _Key(cipher, event.data_key_ref)
            billing = _Key(cipher, event.billing_key_ref)
            return contracts.OrganisationRegistered(
                organisation_id=event.organisation_id,
                name=event.name,
                organisation_number=event.organisation_number,
                data_key_ref=event.data_key_ref,
                billing_key_ref=event.billing_key_ref,
                phone=await data.seal(event.phone),
                email=await data.seal(event.email),
                street_address=await data.seal(event.postal_address.street),
                postal_code=await data.seal(event.postal_address.postal_code),
                city=await data.seal(event.postal_address.city),
                country=event.postal_address.country,
                invoice_email=await billing.seal(event.payment.invoice_email),
                billing_reference=await billing.seal_optional(event.payment.billing_reference),
                contract_starts_on=event.contract_starts_on,
                contract_ends_on=event.contract_ends_on,
                registered_by=event.registered_by,
            )
        case Organisation.PersonListed():
            person = event.person
            key = _Key(cipher, person.subject_ref)
            listed_type = (
                contracts.AdminAdded
                if person.role is Role.ORG_ADMIN
                else contracts.ContactPersonAdded
            )
            return listed_type(
                organisation_id=event.organisation_id,
                subject_ref=person.subject_ref,
                name=await key.seal(person.contact.name),
                email=await key.seal(person.contact.email),
                phone=await key.seal_optional(person.contact.phone),
                listed_by=event.listed_by,
            )
        case Organisation.ContractEnded():
            return contracts.ContractEnded(
                organisation_id=event.organisation_id,
                ended_on=event.ended_on,
                retention=[
                    contracts.RetentionClaim(reason=claim.reason.value, keep_until=claim.keep_until)
                    for claim in event.retention
                ],
                ended_by=event.ended_by,
            )
        case Organisation.RetentionClaimSettled():
            return contracts.RetentionClaimSettled(
                organisation_id=event.organisation_id,
                reason=event.reason.value,
                settled_on=event.settled_on,
                settled_by=event.settled_by,
            )
        case Organisation.DataErased():
            return contracts.OrganisationDataErased(
                organisation_id=event.organisation_id,
                part=event.part.value,
                erased_on=event.erased_on,
            )


async def decode_organisation_event(stored: StoredEvent, cipher: FieldCipher) -> OrganisationEvent:
    """The domain event of a stored organisation event, personal fields decrypted."""
    contract = stored.contract()
    match contract:
        case contracts.OrganisationRegistered():
            data = _Key(cipher, contract.data_key_ref)
            billing = _Key(cipher, contract.billing_key_ref)
            return Organisation.Registered(
                organisation_id=contract.organisation_id,
                name=contract.name,
                organisation_number=contract.organisation_number,
                phone=await data.open_or_marker(contract.phone),
                email=await data.open_or_marker(contract.email),
                postal_address=PostalAddress(
                    street=await data.open_or_marker(contract.street_address),
                    postal_code=await data.open_or_marker(contract.postal_code),
                    city=await data.open_or_marker(contract.city),
                    country=contract.country,
                ),
                payment=PaymentInformation(
                    invoice_email=await billing.open_or_marker(contract.invoice_email),
                    billing_reference=await billing.open_optional_or_marker(
                        contract.billing_reference
                    ),
                ),
                contract_starts_on=contract.contract_starts_on,
                contract_ends_on=contract.contract_ends_on,
                data_key_ref=contract.data_key_ref,
                billing_key_ref=contract.billing_key_ref,
                registered_by=contract.registered_by,
            )
        case contracts.ContactPersonAdded() | contracts.AdminAdded():
            key = _Key(cipher, contract.subject_ref)
            role = (
                Role.ORG_ADMIN
                if isinstance(contract, contracts.AdminAdded)
                else Role.CONTACT_PERSON
            )
            return Organisation.PersonListed(
                organisation_id=contract.organisation_id,
                person=ListedPerson(
                    subject_ref=contract.subject_ref,
                    role=role,
                    contact=PersonContact(
                        name=await key.open_or_marker(contract.name),
                        email=await key.open_or_marker(contract.email),
                        phone=await key.open_optional_or_marker(contract.phone),
                    ),
                ),
                listed_by=contract.listed_by,
            )
        case contracts.ContractEnded():
            return Organisation.ContractEnded(
                organisation_id=contract.organisation_id,
                ended_on=contract.ended_on,
                retention=tuple(
                    RetentionClaim(
                        reason=RetentionReason(claim.reason), keep_until=claim.keep_until
                    )
                    for claim in contract.retention
                ),
                ended_by=contract.ended_by,
            )
        case contracts.RetentionClaimSettled():
            return Organisation.RetentionClaimSettled(
                organisation_id=contract.organisation_id,
                reason=RetentionReason(contract.reason),
                settled_on=contract.settled_on,
                settled_by=contract.settled_by,
            )
        case contracts.OrganisationDataErased():
            return Organisation.DataErased(
                organisation_id=contract.organisation_id,
                part=OrganisationData(contract.part),
                erased_on=contract.erased_on,
            )
    raise UnexpectedEvent(f"{stored.ce_type} in organisation stream {stored.stream_id}")


# --- users --------------------------------------------------------------------------------


async def encode_user_event(event: UserEvent, cipher: FieldCipher) -> IntegrationEvent:
    """The contract of a domain event of a user, personal fields encrypted."""
    key = _Key(cipher, event.subject_ref)
    match event:
        case User.Created():
            profile = event.profile
            return contracts.UserCreated(
                user_id=event.user_id,
                subject_ref=event.subject_ref,
                organisation_id=event.organisation_id,
                roles=sorted(role.value for role in event.roles),
                name=await key.seal(profile.name),
                email=await key.seal(profile.email),
                phone=await key.seal_optional(profile.phone),
                gender=await key.seal_optional(profile.gender),
                language=await key.seal(profile.language),
                terms_version=event.terms_version,
                terms_accepted_at=event.terms_accepted_at,
            )
        case User.ProfileCorrected():
            return contracts.UserProfileCorrected(
                user_id=event.user_id,
                subject_ref=event.subject_ref,
                organisation_id=event.organisation_id,
                corrected_fields=sorted(field.value for field in event.corrected),
                name=await key.seal_optional(event.name),
                email=await key.seal_optional(event.email),
                phone=await key.seal_optional(event.phone),
                gender=await key.seal_optional(event.gender),
                language=await key.seal_optional(event.language),
                corrected_by=event.corrected_by,
            )
        case User.LicenceGranted():
            return contracts.LicenceGranted(
                user_id=event.user_id,
                subject_ref=event.subject_ref,
                organisation_id=event.organisation_id,
                licence_id=event.licence_id,
                granted_by=event.granted_by,
            )
        case User.LicenceRevoked():
            return contracts.LicenceRevoked(
                user_id=event.user_id,
                subject_ref=event.subject_ref,
                organisation_id=event.organisation_id,
                licence_id=event.licence_id,
                revoked_by=event.revoked_by,
            )
        case User.SubscriptionCancelled():
            return contracts.SubscriptionCancelled(
                user_id=event.user_id,
                subject_ref=event.subject_ref,
                organisation_id=event.organisation_id,
            )
        case User.Erased():
            return contracts.UserErased(
                user_id=event.user_id,
                subject_ref=event.subject_ref,
                organisation_id=event.organisation_id,
                request_id=event.request_id,
                kept_categories=sorted(event.kept_categories),
            )


def _gender(value: str | None) -> Gender | None:
    return None if value is None else Gender(value)


async def decode_user_event(stored: StoredEvent, cipher: FieldCipher) -> UserEvent:
    """The domain event of a stored user event; raises ``SubjectErased`` for an erased user."""
    contract = stored.contract()
    match contract:
        case contracts.UserCreated():
            key = _Key(cipher, contract.subject_ref)
            return User.Created(
                user_id=contract.user_id,
                subject_ref=contract.subject_ref,
                organisation_id=contract.organisation_id,
                roles=frozenset(Role(role) for role in contract.roles),
                profile=Profile(
                    name=await key.open_required(contract.name),
                    email=await key.open_required(contract.email),
                    phone=await key.open_optional_required(contract.phone),
                    gender=_gender(await key.open_optional_required(contract.gender)),
                    language=Language(await key.open_required(contract.language)),
                ),
                terms_version=contract.terms_version,
                terms_accepted_at=contract.terms_accepted_at,
            )
        case contracts.UserProfileCorrected():
            key = _Key(cipher, contract.subject_ref)
            language = await key.open_optional_required(contract.language)
            return User.ProfileCorrected(
                user_id=contract.user_id,
                subject_ref=contract.subject_ref,
                organisation_id=contract.organisation_id,
                corrected=frozenset(ProfileField(name) for name in contract.corrected_fields),
                name=await key.open_optional_required(contract.name),
                email=await key.open_optional_required(contract.email),
                phone=await key.open_optional_required(contract.phone),
                gender=_gender(await key.open_optional_required(contract.gender)),
                language=None if language is None else Language(language),
                corrected_by=contract.corrected_by,
            )
        case contracts.LicenceGranted():
            return User.LicenceGranted(
                user_id=contract.user_id,
                subject_ref=contract.subject_ref,
                organisation_id=contract.organisation_id,
                licence_id=contract.licence_id,
                granted_by=contract.granted_by,
            )
        case contracts.LicenceRevoked():
            return User.LicenceRevoked(
                user_id=contract.user_id,
                subject_ref=contract.subject_ref,
                organisation_id=contract.organisation_id,
                licence_id=contract.licence_id,
                revoked_by=contract.revoked_by,
            )
        case contracts.SubscriptionCancelled():
            return User.SubscriptionCancelled(
                user_id=contract.user_id,
                subject_ref=contract.subject_ref,
                organisation_id=contract.organisation_id,
            )
        case contracts.UserErased():
            return User.Erased(
                user_id=contract.user_id,
                subject_ref=contract.subject_ref,
                organisation_id=contract.organisation_id,
                request_id=contract.request_id,
                kept_categories=frozenset(contract.kept_categories),
            )
    raise UnexpectedEvent(f"{stored.ce_type} in user stream {stored.stream_id}")


def organisation_stream(organisation_id: UUID) -> str:
    return f"organisation-{organisation_id}"


def user_stream(user_id: UUID) -> str:
    return f"user-{user_id}"
