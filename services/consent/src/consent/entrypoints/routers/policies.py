"""/policies: privacy-policy versions (R20). Reading is public; publishing is for staff."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from byggrygg_shared.problems import problem_responses
from consent.domain.policy import NoCurrentPolicy
from consent.entrypoints.dependencies import Deps, StaffActor
from consent.schemas.policies import PolicyCreate, PolicyRead, PolicySummary
from consent.service_layer import policy

router = APIRouter(prefix="/policies", tags=["policy versions"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Publish a new version of the privacy policy (platform staff); immutable after",
    responses=problem_responses(401, 403, 409, 422),
)
async def publish_policy(
    body: PolicyCreate, deps: Deps, actor: StaffActor, response: Response
) -> PolicyRead:
    published = await policy.handle_publish_policy(
        deps=deps,
        actor=actor,
        version=body.version,
        text=body.text,
        effective_on=body.effective_on,
    )
    response.headers["Location"] = f"/policies/{published.version}"
    return PolicyRead.model_validate(published)


@router.get(
    "",
    summary="Every published version, newest first (public)",
    responses=problem_responses(500),
)
async def list_policies(deps: Deps) -> list[PolicySummary]:
    return [PolicySummary.model_validate(v) for v in await policy.list_policies(deps=deps)]


@router.get(
    "/current",
    summary="The version in effect today (public)",
    responses=problem_responses(404),
)
async def current_policy(deps: Deps) -> PolicyRead:
    current = await policy.current_policy(deps=deps)
    if current is None:
        raise NoCurrentPolicy()
    return PolicyRead.model_validate(current)


@router.get(
    "/{version}",
    summary="One version, current or older (public)",
    responses=problem_responses(404),
)
async def read_policy(version: str, deps: Deps) -> PolicyRead:
    return PolicyRead.model_validate(await policy.get_policy(deps=deps, version=version))
