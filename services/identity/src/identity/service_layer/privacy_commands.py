"""identity's effects of the privacy orchestrator's commands (R6, R14, R15, R16).

``IdentityPrivacy`` is identity's ``byggrygg_shared.participant.ParticipantHandler``; the shared
``Participant`` runs it in the command's transaction with the inbox claim and the reply.

- **erase** (and **anonymise**: identity's inventory anonymises nothing, so it is the same):
  ``UserErased`` is appended to the user's stream (other services learn it; no personal data),
  the user's rows (``users``, ``login_emails``, ``credentials``, licences by cascade), the
  subject's rows as a contact person or administrator and their pending invitations are
  deleted, so the person can no longer log in. Under a hold, the columns of the held
  categories stay; in a row that stays, other columns are cleared (NULL, the erased marker
  where the column is required, the portal's default for the language setting). The
  subject's key is shredded when the command has no hold, which makes every event field of
  the subject unreadable everywhere; with a hold the key stays (another service's held data
  may be under it) and the evidence says so.
- **export**: every personal field identity holds about the subject (the projections hold
  them in plain text), as JSON; the shared participant seals it under the subject's key.
- **rectify**: the corrections are decrypted and applied through the profile-correction path
  of the ``User`` aggregate, so ``UserProfileCorrected`` is emitted as for a self-service edit.

Every step is idempotent: after a crash between the key shred and the commit, the redelivered
command finds the rows still there and erases them; it never needs the key to do so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from uuid import UUID

import asyncpg

from byggrygg_shared.contracts.privacy import (
    AnonymiseSubject,
    EraseSubject,
    Evidence,
    ExportSubject,
    Hold,
    RectifySubject,
)
from byggrygg_shared.eventstore import EventStore
from byggrygg_shared.inventory import EventField, Location, TableColumn
from byggrygg_shared.keyring import ERASED, Erased
from byggrygg_shared.participant import Effects, evidence_of, hold_covering, kept_evidence
from identity.adapters.event_codec import (
    FieldCipher,
    SubjectErased,
    encode_user_event,
    user_stream,
)
from identity.adapters.projections import project_user
from identity.adapters.repositories import Recorded
from identity.domain.errors import RequiredProfileField, UserNotActive
from identity.domain.user import ProfileCorrection, ProfileField, User
from identity.domain.values import Gender, Language
from identity.privacy import INVENTORY
from identity.service_layer.context import Dependencies

CORRECTED_BY_PREFIX: Final = "privacy-orchestrator:"
MARKER: Final = str(ERASED)  # what a required column holds once its value is erased
# An erased language setting becomes the portal's default: the column must stay a valid
# language (the row is still read), and the default says nothing about the person.
ERASED_LANGUAGE: Final = Language.BOKMAL.value

_USER_COLUMNS: Final = ("name", "phone", "gender", "language")
_USER_REQUIRED: Final = frozenset({"name", "language"})
_PERSON_COLUMNS: Final = ("name", "email", "phone")
_PERSON_REQUIRED: Final = frozenset({"name", "email"})
_LOGIN_EMAIL: Final = TableColumn("login_emails", "email")
_PASSWORD_HASH: Final = TableColumn("credentials", "password_hash")


class IdentityPrivacy:
    """identity as a participant of data-subject requests."""

    def __init__(
        self, deps: Dependencies, *, cipher: FieldCipher, store: EventStore | None = None
    ) -> None:
        self._deps = deps
        self._cipher = cipher
        self._store = store or EventStore()

    # --- erase / anonymise ------------------------------------------------------------------

    async def erase(self, conn: asyncpg.Connection, command: EraseSubject) -> Effects:
        return await self._erase(conn, command)

    async def anonymise(self, conn: asyncpg.Connection, command: AnonymiseSubject) -> Effects:
        # identity's inventory declares nothing to anonymise: erasure is what it can do.
        return await self._erase(conn, command)

    async def _erase(
        self, conn: asyncpg.Connection, command: EraseSubject | AnonymiseSubject
    ) -> Effects:
        subject = command.subject_ref
        holds = command.holds
        counts: dict[Location, int] = {}
        kept: dict[Location, Hold] = {}

        def note(location: Location, count: int) -> Hold | None:
            entry = INVENTORY.personal_at(location)
            hold = None if entry is None else hold_covering(holds, entry)
            counts[location] = counts.get(location, 0) + count
            if hold is not None:
                kept[location] = hold
            return hold

        user = await conn.fetchrow(
            "SELECT user_id, organisation_id FROM users WHERE subject_ref = $1 FOR UPDATE", subject
        )
        if user is not None:
            held = {c for c in _USER_COLUMNS if note(TableColumn("users", c), 1) is not None}
            email_held = note(_LOGIN_EMAIL, 1) is not None
            hash_held = note(_PASSWORD_HASH, 1) is not None
            await self._record_erasure(conn, user, command, kept)
            if held:
                await _clear_user(conn, user["user_id"], held)
            else:
                await conn.execute("DELETE FROM users WHERE user_id = $1", user["user_id"])
            if not email_held:
                await conn.execute("DELETE FROM login_emails WHERE holder_id = $1", user["user_id"])
            if not hash_held:
                await conn.execute(
                    "DELETE FROM credentials WHERE principal_id = $1", user["user_id"]
                )

        people = await conn.fetch(
            "SELECT organisation_id FROM organisation_people WHERE subject_ref = $1 FOR UPDATE",
            subject,
        )
        if people:
            held = {
                c
                for c in _PERSON_COLUMNS
                if note(TableColumn("organisation_people", c), len(people)) is not None
            }
            if held:
                await _clear_people(conn, subject, held)
            else:
                await conn.execute(
                    "DELETE FROM organisation_people WHERE subject_ref = $1", subject
                )

        invitations = await conn.fetch(
            "SELECT invitation_id FROM invitations WHERE subject_ref = $1", subject
        )
        if invitations:
            ids = [row["invitation_id"] for row in invitations]
            if note(_LOGIN_EMAIL, len(ids)) is None:
                await conn.execute(
                    "DELETE FROM login_emails WHERE holder_kind = 'invitation' "
                    "AND holder_id = ANY($1::uuid[])",
                    ids,
                )
                await conn.execute(
                    "DELETE FROM invitations WHERE invitation_id = ANY($1::uuid[])", ids
                )

        evidence = list(evidence_of(INVENTORY, counts, kept=kept))
        evidence += await self._event_field_evidence(conn, subject, holds)
        # The key is shared by every service that encrypts the subject's fields: with any
        # hold it stays (contracts.privacy), and the orchestrator erases again when it ends.
        return Effects(evidence=tuple(evidence), shred_key=not holds)

    async def _record_erasure(
        self,
        conn: asyncpg.Connection,
        user: asyncpg.Record,
        command: EraseSubject | AnonymiseSubject,
        kept: Mapping[Location, Hold],
    ) -> None:
        # Appended without loading the aggregate: after a crash between the shred and the
        # commit the key is gone, and erasure must not need it.
        event = User.Erased(
            user_id=user["user_id"],
            subject_ref=command.subject_ref,
            organisation_id=user["organisation_id"],
            request_id=command.request_id,
            kept_categories=frozenset(
                entry.category.value
                for location in kept
                if (entry := INVENTORY.personal_at(location)) is not None
            ),
        )
        stream = user_stream(user["user_id"])
        stored = await self._store.append(
            conn,
            stream_id=stream,
            expected_version=None,  # at the stream's end, without reading its version first
            events=[await encode_user_event(event, self._cipher)],
            metadata=self._deps.metadata(organisation_id=user["organisation_id"]),
        )
        await project_user(conn, [Recorded(event=event, stored=stored[0])])

    async def _event_field_evidence(
        self, conn: asyncpg.Connection, subject: str, holds: list[Hold]
    ) -> list[Evidence]:
        rows = await conn.fetch(
            "SELECT event_type, count(*) AS n FROM events "
            "WHERE metadata->>'subject_ref' = $1 GROUP BY event_type",
            subject,
        )
        per_type = {row["event_type"]: int(row["n"]) for row in rows}
        counts: dict[Location, int] = {}
        kept: dict[Location, Hold] = {}
        for entry in INVENTORY.personal:
            location = entry.location
            if not isinstance(location, EventField) or location.event_type not in per_type:
                continue
            counts[location] = per_type[location.event_type]
            hold = hold_covering(holds, entry)
            if hold is not None:
                kept[location] = hold
        if not holds:
            return list(evidence_of(INVENTORY, counts))
        found = list(evidence_of(INVENTORY, counts, kept=kept))
        # Fields no hold covers are still readable: the key they share stays while a hold lasts.
        return [
            item
            if item.action == "kept"
            else kept_evidence(
                item.location, item.count, holds[0], "the subject's key stays while a hold lasts"
            )
            for item in found
        ]

    # --- export ----------------------------------------------------------------------------

    async def export(self, conn: asyncpg.Connection, command: ExportSubject) -> Effects:
        subject = command.subject_ref
        part: dict[str, Any] = {"service": "identity", "subject_ref": subject}
        counts: dict[Location, int] = {}
        user = await conn.fetchrow(
            "SELECT u.user_id, u.organisation_id, u.roles, u.name, u.phone, u.gender, u.language,"
            " u.terms_version, u.terms_accepted_at, u.status, e.email FROM users u"
            " LEFT JOIN login_emails e ON e.holder_id = u.user_id WHERE u.subject_ref = $1",
            subject,
        )
        if user is not None:
            licences = await conn.fetch(
                "SELECT licence_id, granted_at, revoked_at FROM licences WHERE user_id = $1 "
                "ORDER BY granted_at",
                user["user_id"],
            )
            part["user"] = {
                **{key: _plain(value) for key, value in user.items()},
                "licences": [{k: _plain(v) for k, v in row.items()} for row in licences],
            }
            for column in _USER_COLUMNS:
                counts[TableColumn("users", column)] = 1
            if user["email"] is not None:
                counts[_LOGIN_EMAIL] = 1
        people = await conn.fetch(
            "SELECT organisation_id, role, name, email, phone, listed_at "
            "FROM organisation_people WHERE subject_ref = $1 ORDER BY listed_at",
            subject,
        )
        part["listed_as"] = [{k: _plain(v) for k, v in row.items()} for row in people]
        for column in _PERSON_COLUMNS:
            if people:
                counts[TableColumn("organisation_people", column)] = len(people)
        evidence = tuple(
            Evidence(location=str(location), action="exported", count=count)
            for location, count in sorted(counts.items(), key=lambda item: str(item[0]))
        )
        return Effects(evidence=evidence, export=part)

    # --- rectify ---------------------------------------------------------------------------

    async def rectify(self, conn: asyncpg.Connection, command: RectifySubject) -> Effects:
        user_id = await conn.fetchval(
            "SELECT user_id FROM users WHERE subject_ref = $1", command.subject_ref
        )
        if user_id is None:
            return Effects(outcome="completed")  # identity holds no profile of this subject
        values: dict[str, str | None] = {}
        for name, token in command.corrections.items():
            value = await self._cipher.decrypt(command.subject_ref, token)
            if isinstance(value, Erased):
                return Effects(outcome="failed")  # the subject's key is gone: nothing to apply
            values[name] = value
        try:
            user = await self._deps.users.get(conn, user_id)
        except SubjectErased:
            return Effects(outcome="failed")
        if user is None:
            return Effects(outcome="failed")
        try:
            correction = _correction(values)
            changed = user.correct_profile(
                correction, corrected_by=f"{CORRECTED_BY_PREFIX}{command.request_id}"
            )
        except (ValueError, RequiredProfileField, UserNotActive):
            # Not a value identity accepts (or the user left): nothing changes; said so.
            return Effects(outcome="failed")
        if changed:
            recorded = await self._deps.users.save(
                conn,
                user,
                aggregate_id=user.id,
                metadata=self._deps.metadata(organisation_id=user.organisation_id),
            )
            await project_user(conn, recorded)
        evidence = tuple(
            Evidence(location=str(_profile_location(name)), action="rectified", count=1)
            for name in sorted(values)
        )
        return Effects(evidence=evidence)


def _correction(values: Mapping[str, str | None]) -> ProfileCorrection:
    gender = values.get("gender")
    language = values.get("language")
    return ProfileCorrection(
        fields=frozenset(ProfileField(name) for name in values),
        name=values.get("name"),
        email=values.get("email"),
        phone=values.get("phone"),
        gender=None if gender is None else Gender(gender),
        language=None if language is None else Language(language),
    )


def _profile_location(name: str) -> Location:
    return _LOGIN_EMAIL if name == "email" else TableColumn("users", name)


def _plain(value: object) -> object:
    if isinstance(value, UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


async def _clear_user(conn: asyncpg.Connection, user_id: UUID, held: set[str]) -> None:
    """Erase the columns of a users row that no hold keeps."""
    erased = [column for column in _USER_COLUMNS if column not in held]
    if erased:
        # Column names are this module's constants, never input.
        await conn.execute(
            "UPDATE users SET "  # noqa: S608
            + ", ".join(f"{c} = {_erased_value(c)}" for c in erased)
            + " WHERE user_id = $1 AND $2::text IS NOT NULL AND $3::text IS NOT NULL",
            user_id,
            MARKER,
            ERASED_LANGUAGE,
        )


def _erased_value(column: str) -> str:
    """The SQL value an erased users column gets: the default language, the marker where a
    value is required, else NULL."""
    if column == "language":
        return "$3"
    return "$2" if column in _USER_REQUIRED else "NULL"


async def _clear_people(conn: asyncpg.Connection, subject: str, held: set[str]) -> None:
    """Erase the columns of a listed person's rows that no hold keeps."""
    assignments = []
    for column in _PERSON_COLUMNS:
        if column in held:
            continue
        if column == "email":  # unique per organisation: the marker names the pseudonym
            assignments.append("email = $2 || ' ' || subject_ref")
        elif column in _PERSON_REQUIRED:
            assignments.append(f"{column} = $2")
        else:
            assignments.append(f"{column} = NULL")
    if not assignments:
        return
    await conn.execute(
        f"UPDATE organisation_people SET {', '.join(assignments)} "  # noqa: S608 - constants
        "WHERE subject_ref = $1 AND $2::text IS NOT NULL",
        subject,
        MARKER,
    )
