"""The User aggregate (R3, R6, R15): a person who accepted the terms, their licences.

A user exists from the moment the terms are accepted (R3): `User.accept_terms` is the only
way to create one. Licences are part of the user's consistency boundary: at most one is
active at a time, and revoking it (R6) is a fact about this user.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import assert_never
from uuid import UUID

from byggrygg_shared.aggregate import Aggregate
from identity.domain.errors import (
    LicenceAlreadyActive,
    LicenceNotFound,
    RequiredProfileField,
    TermsVersionOutdated,
    UserNotActive,
)
from identity.domain.values import Gender, Language, Role, normalise_email


class UserStatus(StrEnum):
    """ACTIVE until the person ends their own subscription (R6)."""

    ACTIVE = "active"
    CANCELLED = "cancelled"


class ProfileField(StrEnum):
    """The fields of a profile a person may correct (R15)."""

    NAME = "name"
    EMAIL = "email"
    PHONE = "phone"
    GENDER = "gender"
    LANGUAGE = "language"


@dataclass(frozen=True)
class Profile:
    """What identity stores about a user (R3); phone and gender are optional to give."""

    name: str
    email: str
    phone: str | None
    gender: Gender | None
    language: Language

    def normalised(self) -> Profile:
        return replace(self, name=self.name.strip(), email=normalise_email(self.email))


_REQUIRED_FIELDS = frozenset({ProfileField.NAME, ProfileField.EMAIL, ProfileField.LANGUAGE})


@dataclass(frozen=True)
class ProfileCorrection:
    """The fields a person asks to change (`fields`) and their new values; fields not listed
    stay as they are. Phone and gender may be cleared with None; the others may not."""

    fields: frozenset[ProfileField]
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    gender: Gender | None = None
    language: Language | None = None


class User(Aggregate["UserEvent"]):
    """A portal user; the stream id is `user-<id>`."""

    @dataclass(frozen=True)
    class Created:
        user_id: UUID
        subject_ref: str
        organisation_id: UUID
        roles: frozenset[Role]
        profile: Profile
        terms_version: str
        terms_accepted_at: datetime

    @dataclass(frozen=True)
    class ProfileCorrected:
        user_id: UUID
        subject_ref: str
        organisation_id: UUID
        # Only the fields in `corrected` changed; the others are None and mean nothing.
        # A corrected optional field (phone, gender) set to None was cleared.
        corrected: frozenset[ProfileField]
        name: str | None
        email: str | None
        phone: str | None
        gender: Gender | None
        language: Language | None
        corrected_by: str

        def applied_to(self, profile: Profile) -> Profile:
            """The profile after this correction."""
            return replace(
                profile,
                **{field.value: getattr(self, field.value) for field in self.corrected},
            )

    @dataclass(frozen=True)
    class LicenceGranted:
        user_id: UUID
        subject_ref: str
        organisation_id: UUID
        licence_id: UUID
        granted_by: str

    @dataclass(frozen=True)
    class LicenceRevoked:
        user_id: UUID
        subject_ref: str
        organisation_id: UUID
        licence_id: UUID
        revoked_by: str

    @dataclass(frozen=True)
    class SubscriptionCancelled:
        user_id: UUID
        subject_ref: str
        organisation_id: UUID

    @dataclass(frozen=True)
    class Erased:
        """The user's personal data was erased on a privacy request (R6, R16)."""

        user_id: UUID
        subject_ref: str
        organisation_id: UUID
        request_id: UUID
        kept_categories: frozenset[str]

    id: UUID
    subject_ref: str
    organisation_id: UUID
    roles: frozenset[Role]
    profile: Profile
    terms_version: str
    terms_accepted_at: datetime
    status: UserStatus
    active_licence: UUID | None
    past_licences: set[UUID]

    @classmethod
    def accept_terms(
        cls,
        *,
        user_id: UUID,
        subject_ref: str,
        organisation_id: UUID,
        roles: frozenset[Role],
        profile: Profile,
        accepted_version: str,
        current_version: str,
        accepted_at: datetime,
    ) -> User:
        """The invited person accepts the current terms: from now on the user exists (R3)."""
        if accepted_version != current_version:
            raise TermsVersionOutdated("the current terms must be accepted")
        if not roles or Role.PLATFORM_STAFF in roles:
            raise ValueError("a portal user holds organisation roles only")
        user = cls._blank()
        user._raise(
            cls.Created(
                user_id=user_id,
                subject_ref=subject_ref,
                organisation_id=organisation_id,
                roles=roles,
                profile=profile.normalised(),
                terms_version=accepted_version,
                terms_accepted_at=accepted_at,
            )
        )
        return user

    @property
    def is_active(self) -> bool:
        return self.status is UserStatus.ACTIVE

    def correct_profile(self, correction: ProfileCorrection, *, corrected_by: str) -> bool:
        """Rectification (R15). Returns False, raising nothing, when nothing would change."""
        self._require_active()
        cleared = {
            f for f in correction.fields & _REQUIRED_FIELDS if getattr(correction, f.value) is None
        }
        if cleared:
            raise RequiredProfileField(f"{sorted(cleared)} may be corrected but not cleared")
        wanted = replace(
            self.profile,
            **{field.value: getattr(correction, field.value) for field in correction.fields},
        ).normalised()
        changed = frozenset(
            field
            for field in correction.fields
            if getattr(wanted, field.value) != getattr(self.profile, field.value)
        )
        if not changed:
            return False
        self._raise(
            self.ProfileCorrected(
                user_id=self.id,
                subject_ref=self.subject_ref,
                organisation_id=self.organisation_id,
                corrected=changed,
                name=wanted.name if ProfileField.NAME in changed else None,
                email=wanted.email if ProfileField.EMAIL in changed else None,
                phone=wanted.phone if ProfileField.PHONE in changed else None,
                gender=wanted.gender if ProfileField.GENDER in changed else None,
                language=wanted.language if ProfileField.LANGUAGE in changed else None,
                corrected_by=corrected_by,
            )
        )
        return True

    def grant_licence(self, *, licence_id: UUID, granted_by: str) -> None:
        """The organisation gives the user a licence (R7); one active licence at a time."""
        self._require_active()
        if self.active_licence is not None:
            raise LicenceAlreadyActive("the user already holds an active licence")
        self._raise(
            self.LicenceGranted(
                user_id=self.id,
                subject_ref=self.subject_ref,
                organisation_id=self.organisation_id,
                licence_id=licence_id,
                granted_by=granted_by,
            )
        )

    def revoke_licence(self, *, licence_id: UUID, revoked_by: str) -> None:
        """The organisation ends the user's licence (R6: the user's data is then erased)."""
        if self.active_licence != licence_id:
            raise LicenceNotFound("the user holds no active licence with this id")
        self._raise(
            self.LicenceRevoked(
                user_id=self.id,
                subject_ref=self.subject_ref,
                organisation_id=self.organisation_id,
                licence_id=licence_id,
                revoked_by=revoked_by,
            )
        )

    def cancel_subscription(self) -> None:
        """The user ends their own subscription (R6)."""
        self._require_active()
        self._raise(
            self.SubscriptionCancelled(
                user_id=self.id, subject_ref=self.subject_ref, organisation_id=self.organisation_id
            )
        )

    def erase(self, *, request_id: UUID, kept_categories: frozenset[str]) -> None:
        """Record that the user's personal data was erased (R6, R16); ends the subscription."""
        self._raise(
            self.Erased(
                user_id=self.id,
                subject_ref=self.subject_ref,
                organisation_id=self.organisation_id,
                request_id=request_id,
                kept_categories=kept_categories,
            )
        )

    def _require_active(self) -> None:
        if not self.is_active:
            raise UserNotActive("the user has cancelled the subscription")

    def _apply(self, event: UserEvent) -> None:
        match event:
            case User.Created():
                self.id = event.user_id
                self.subject_ref = event.subject_ref
                self.organisation_id = event.organisation_id
                self.roles = event.roles
                self.profile = event.profile
                self.terms_version = event.terms_version
                self.terms_accepted_at = event.terms_accepted_at
                self.status = UserStatus.ACTIVE
                self.active_licence = None
                self.past_licences = set()
            case User.ProfileCorrected():
                self.profile = event.applied_to(self.profile)
            case User.LicenceGranted():
                self.active_licence = event.licence_id
            case User.LicenceRevoked():
                self.past_licences.add(event.licence_id)
                self.active_licence = None
            case User.SubscriptionCancelled() | User.Erased():
                self.status = UserStatus.CANCELLED
            case _:
                assert_never(event)


UserEvent = (
    User.Created
    | User.ProfileCorrected
    | User.LicenceGranted
    | User.LicenceRevoked
    | User.SubscriptionCancelled
    | User.Erased
)
