"""/courses: the catalogue (staff edit drafts and publish; anyone authenticated reads the
published versions)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Path, Response, status

from byggrygg_shared.preconditions import etag, expected_version, optional_expected_version
from byggrygg_shared.problems import problem_responses
from byggrygg_shared.sources import IdSource
from courses.adapters.queries import CourseVersionView, CourseView
from courses.domain.content import CourseContent, Module, Option, Question, QuestionKind, Scale
from courses.entrypoints.dependencies import CurrentActor, Deps
from courses.schemas import (
    CourseContentRead,
    CourseCreate,
    CourseDraftUpdate,
    CourseRead,
    CourseVersionRead,
    PublishedVersion,
)
from courses.service_layer import catalogue
from courses.service_layer.context import Actor, Dependencies

router = APIRouter(prefix="/courses", tags=["courses"])

VersionNumber = Annotated[int, Path(ge=1, le=1_000_000)]


def content_of(body: CourseCreate, ids: IdSource) -> CourseContent:
    """The domain content of a request; missing ids are made here."""
    return CourseContent(
        title=body.title,
        description=body.description,
        modules=tuple(
            Module(
                module_id=m.module_id or ids.new_id(),
                title=m.title,
                questions=tuple(
                    Question(
                        question_id=q.question_id or ids.new_id(),
                        kind=QuestionKind(q.kind),
                        prompt=q.prompt,
                        required=q.required,
                        options=tuple(
                            Option(o.option_id or ids.new_id(), o.label) for o in q.options
                        ),
                        scale=None
                        if q.scale is None
                        else Scale(
                            q.scale.low, q.scale.high, q.scale.low_label, q.scale.high_label
                        ),
                        max_length=q.max_length,
                    )
                    for q in m.questions
                ),
            )
            for m in body.modules
        ),
    )


async def course_read(
    deps: Dependencies, actor: Actor, view: CourseView, response: Response | None
) -> CourseRead:
    published = None
    if view.latest_version is not None:
        version = await catalogue.get_version(
            deps=deps, actor=actor, course_id=view.course_id, version=view.latest_version
        )
        published = CourseContentRead.model_validate(version.content)
    if response is not None:
        response.headers["ETag"] = etag(view.version)
    return CourseRead(
        course_id=view.course_id,
        latest_version=view.latest_version,
        draft_is_published=view.draft_is_published,
        published=published,
        draft=CourseContentRead.model_validate(view.draft) if actor.is_staff else None,
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


def version_read(view: CourseVersionView) -> CourseVersionRead:
    return CourseVersionRead(
        course_id=view.course_id,
        version=view.version,
        question_count=view.question_count,
        required_count=view.required_count,
        published_at=view.published_at,
        content=CourseContentRead.model_validate(view.content),
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a course with its first draft (platform staff)",
    responses=problem_responses(400, 401, 403, 422),
)
async def create_course(
    body: CourseCreate, deps: Deps, actor: CurrentActor, response: Response
) -> CourseRead:
    course_id = await catalogue.handle_create_course(
        deps=deps, actor=actor, content=content_of(body, deps.ids)
    )
    view = await catalogue.get_course(deps=deps, actor=actor, course_id=course_id)
    response.headers["Location"] = f"/courses/{course_id}"
    return await course_read(deps, actor, view, response)


@router.get(
    "",
    summary="The catalogue: every course for staff, published courses for everyone else",
    responses=problem_responses(401),
)
async def list_courses(deps: Deps, actor: CurrentActor) -> list[CourseRead]:
    views = await catalogue.get_courses(deps=deps, actor=actor)
    return [await course_read(deps, actor, view, None) for view in views]


@router.get(
    "/{course_id}",
    summary="A course: its latest published version, and for staff its draft (ETag)",
    responses=problem_responses(401, 404, 422),
)
async def read_course(
    course_id: UUID, deps: Deps, actor: CurrentActor, response: Response
) -> CourseRead:
    view = await catalogue.get_course(deps=deps, actor=actor, course_id=course_id)
    return await course_read(deps, actor, view, response)


@router.put(
    "/{course_id}/draft",
    summary="Replace the draft (platform staff); needs If-Match with the course's ETag",
    description="Published versions never change; publish the draft to make a new version.",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 428),
)
async def revise_draft(
    course_id: UUID,
    body: CourseDraftUpdate,
    deps: Deps,
    actor: CurrentActor,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> CourseRead:
    expected = expected_version(if_match)
    await catalogue.handle_revise_draft(
        deps=deps,
        actor=actor,
        course_id=course_id,
        content=content_of(body, deps.ids),
        expected_version=expected,
    )
    view = await catalogue.get_course(deps=deps, actor=actor, course_id=course_id)
    return await course_read(deps, actor, view, response)


@router.post(
    "/{course_id}/publish",
    status_code=status.HTTP_201_CREATED,
    summary="Publish the draft as the next immutable version (platform staff)",
    description="If-Match is optional here; when sent, a stale ETag gives 409.",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def publish_course(
    course_id: UUID,
    deps: Deps,
    actor: CurrentActor,
    if_match: Annotated[str | None, Header()] = None,
) -> PublishedVersion:
    version = await catalogue.handle_publish(
        deps=deps,
        actor=actor,
        course_id=course_id,
        expected_version=optional_expected_version(if_match),
    )
    return PublishedVersion(course_id=course_id, version=version)


@router.get(
    "/{course_id}/versions/{version}",
    summary="A published version of a course (anyone authenticated)",
    responses=problem_responses(401, 404, 422),
)
async def read_version(
    course_id: UUID, version: VersionNumber, deps: Deps, actor: CurrentActor
) -> CourseVersionRead:
    view = await catalogue.get_version(deps=deps, actor=actor, course_id=course_id, version=version)
    return version_read(view)
