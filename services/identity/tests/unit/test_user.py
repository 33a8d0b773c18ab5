"""The User aggregate (R3, R6, R15)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.domain.errors import (
    IdentityError,
    LicenceAlreadyActive,
    LicenceNotFound,
    RequiredProfileField,
    TermsVersionOutdated,
    UserNotActive,
)
from identity.domain.user import Profile, ProfileCorrection, ProfileField, User, UserStatus
from identity.domain.values import Gender, Language, Role

ACCEPTED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MakeUser = Callable[..., User]
MakeProfile = Callable[..., Profile]


def state_of(aggregate: object) -> dict[str, Any]:
    return {key: value for key, value in vars(aggregate).items() if key != "pending"}


def test_a_user_exists_only_by_accepting_the_current_terms(
    make_user: MakeUser, make_profile: MakeProfile
) -> None:
    with pytest.raises(TermsVersionOutdated):
        User.accept_terms(
            user_id=uuid4(),
            subject_ref="subj_x",
            organisation_id=uuid4(),
            roles=frozenset({Role.LEARNER}),
            profile=make_profile(),
            accepted_version="2023-1",
            current_version="2024-1",
            accepted_at=ACCEPTED_AT,
        )
    user = make_user()
    [created] = user.pending
    assert isinstance(created, User.Created)
    assert created.terms_version == "2024-1"
    assert created.terms_accepted_at == ACCEPTED_AT


def test_portal_users_cannot_be_platform_staff(make_profile: MakeProfile) -> None:
    with pytest.raises(ValueError, match="organisation roles"):
        User.accept_terms(
            user_id=uuid4(),
            subject_ref="subj_x",
            organisation_id=uuid4(),
            roles=frozenset({Role.PLATFORM_STAFF}),
            profile=make_profile(),
            accepted_version="1",
            current_version="1",
            accepted_at=ACCEPTED_AT,
        )


def test_correction_changes_only_the_fields_that_differ(
    make_user: MakeUser, make_profile: MakeProfile
) -> None:
    user = make_user()
    changed = user.correct_profile(
        ProfileCorrection(
            fields=frozenset({ProfileField.NAME, ProfileField.PHONE, ProfileField.LANGUAGE}),
            name="Kari Nordmann",  # unchanged
            phone="+47 911 22 333",
            language=Language.ENGLISH,
        ),
        corrected_by="admin",
    )
    assert changed
    event = user.pending[-1]
    assert isinstance(event, User.ProfileCorrected)
    assert event.corrected == {ProfileField.PHONE, ProfileField.LANGUAGE}
    assert event.name is None
    assert user.profile == make_profile(phone="+47 911 22 333", language=Language.ENGLISH)


def test_a_correction_that_changes_nothing_raises_no_event(make_user: MakeUser) -> None:
    user = make_user()
    assert not user.correct_profile(
        ProfileCorrection(fields=frozenset({ProfileField.EMAIL}), email=" KARI@hansen.example.no"),
        corrected_by="self",
    )
    assert user.version == 1


def test_optional_fields_can_be_cleared_required_ones_cannot(make_user: MakeUser) -> None:
    user = make_user()
    user.correct_profile(
        ProfileCorrection(fields=frozenset({ProfileField.GENDER}), gender=Gender.FEMALE),
        corrected_by="self",
    )
    user.correct_profile(
        ProfileCorrection(fields=frozenset({ProfileField.GENDER}), gender=None), corrected_by="self"
    )
    assert user.profile.gender is None
    with pytest.raises(RequiredProfileField):
        user.correct_profile(
            ProfileCorrection(fields=frozenset({ProfileField.NAME}), name=None), corrected_by="self"
        )


def test_one_active_licence_at_a_time(make_user: MakeUser) -> None:
    user = make_user()
    first = uuid4()
    user.grant_licence(licence_id=first, granted_by="admin")
    with pytest.raises(LicenceAlreadyActive):
        user.grant_licence(licence_id=uuid4(), granted_by="admin")
    user.revoke_licence(licence_id=first, revoked_by="admin")
    with pytest.raises(LicenceNotFound):
        user.revoke_licence(licence_id=first, revoked_by="admin")
    second = uuid4()
    user.grant_licence(licence_id=second, granted_by="admin")
    assert user.active_licence == second
    assert user.past_licences == {first}


def test_revoking_an_unknown_licence_fails(make_user: MakeUser) -> None:
    with pytest.raises(LicenceNotFound):
        make_user().revoke_licence(licence_id=uuid4(), revoked_by="admin")


def test_a_cancelled_subscription_accepts_no_more_changes(make_user: MakeUser) -> None:
    user = make_user()
    user.cancel_subscription()
    assert user.status is UserStatus.CANCELLED
    with pytest.raises(UserNotActive):
        user.cancel_subscription()
    with pytest.raises(UserNotActive):
        user.grant_licence(licence_id=uuid4(), granted_by="admin")
    with pytest.raises(UserNotActive):
        user.correct_profile(
            ProfileCorrection(fields=frozenset({ProfileField.NAME}), name="New"),
            corrected_by="self",
        )


commands = st.lists(
    st.one_of(
        st.tuples(st.just("grant")),
        st.tuples(st.just("revoke")),
        st.tuples(st.just("cancel")),
        st.tuples(
            st.just("correct"),
            st.sampled_from(list(ProfileField)),
            st.sampled_from(["Ola", "Kari", "ola@example.no", "+4712345678", None]),
        ),
    ),
    max_size=25,
)


def _apply(user: User, command: tuple[object, ...]) -> None:
    match command:
        case ("grant",):
            user.grant_licence(licence_id=uuid4(), granted_by="admin")
        case ("revoke",):
            user.revoke_licence(licence_id=user.active_licence or uuid4(), revoked_by="admin")
        case ("cancel",):
            user.cancel_subscription()
        case ("correct", ProfileField() as field, value):
            if field is ProfileField.GENDER:
                value = None if value is None else Gender.OTHER
            if field is ProfileField.LANGUAGE:
                value = None if value is None else Language.NYNORSK
            user.correct_profile(
                ProfileCorrection(fields=frozenset({field}), **{field.value: value}),
                corrected_by="self",
            )


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=commands)
def test_replaying_any_history_gives_the_same_user(
    history: list[tuple[object, ...]], make_user: MakeUser
) -> None:
    user = make_user()
    for command in history:
        with contextlib.suppress(IdentityError):  # a refused command changes nothing
            _apply(user, command)
    replayed = User.replay(user.pending)
    assert state_of(replayed) == state_of(user)
    assert replayed.version == len(user.pending)
