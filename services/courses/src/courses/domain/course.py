"""The Course aggregate: a draft that staff edit, immutable published versions, assignments.

Publishing freezes the current draft as version ``n + 1``; later edits revise the draft only,
so learners already enrolled keep the version they started. A course is assigned to an
organisation only once it has a published version; assignment is part of the course's stream
so that "assigned and published" is checked and recorded in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never
from uuid import UUID

from byggrygg_shared.aggregate import Aggregate
from courses.domain.content import CourseContent
from courses.domain.errors import CourseAlreadyAssigned, CourseNotPublished, NothingToPublish


class Course(Aggregate["CourseEvent"]):
    """A course of the catalogue; the stream id is `course-<id>`."""

    @dataclass(frozen=True)
    class Created:
        course_id: UUID
        content: CourseContent
        created_by: str

    @dataclass(frozen=True)
    class DraftRevised:
        course_id: UUID
        content: CourseContent
        revised_by: str

    @dataclass(frozen=True)
    class Published:
        course_id: UUID
        version: int
        content: CourseContent
        published_by: str

    @dataclass(frozen=True)
    class Assigned:
        course_id: UUID
        organisation_id: UUID
        assigned_by: str

    id: UUID
    draft: CourseContent
    versions: dict[int, CourseContent]
    organisations: set[UUID]

    @classmethod
    def create(cls, *, course_id: UUID, content: CourseContent, created_by: str) -> Course:
        content.check()
        course = cls._blank()
        course._raise(cls.Created(course_id=course_id, content=content, created_by=created_by))
        return course

    @property
    def latest_version(self) -> int | None:
        return max(self.versions, default=None)

    @property
    def draft_is_published(self) -> bool:
        latest = self.latest_version
        return latest is not None and self.versions[latest] == self.draft

    def revise(self, content: CourseContent, *, revised_by: str) -> bool:
        """Replace the draft; False (nothing raised) when it is the same content."""
        content.check()
        if content == self.draft:
            return False
        self._raise(self.DraftRevised(course_id=self.id, content=content, revised_by=revised_by))
        return True

    def publish(self, *, published_by: str) -> int:
        """Freeze the draft as the next version; returns its number."""
        if self.draft_is_published:
            raise NothingToPublish("the draft is already the latest published version")
        if not self.draft.questions:
            raise NothingToPublish("a course needs at least one question to be published")
        version = (self.latest_version or 0) + 1
        self._raise(
            self.Published(
                course_id=self.id, version=version, content=self.draft, published_by=published_by
            )
        )
        return version

    def assign(self, *, organisation_id: UUID, assigned_by: str) -> None:
        """Give the organisation's learners this course (R7: on the customer's instruction)."""
        if self.latest_version is None:
            raise CourseNotPublished("only a published course can be assigned")
        if organisation_id in self.organisations:
            raise CourseAlreadyAssigned("the course is already assigned to the organisation")
        self._raise(
            self.Assigned(
                course_id=self.id, organisation_id=organisation_id, assigned_by=assigned_by
            )
        )

    def _apply(self, event: CourseEvent) -> None:
        match event:
            case Course.Created():
                self.id = event.course_id
                self.draft = event.content
                self.versions = {}
                self.organisations = set()
            case Course.DraftRevised():
                self.draft = event.content
            case Course.Published():
                self.versions[event.version] = event.content
            case Course.Assigned():
                self.organisations.add(event.organisation_id)
            case _:
                assert_never(event)


CourseEvent = Course.Created | Course.DraftRevised | Course.Published | Course.Assigned
