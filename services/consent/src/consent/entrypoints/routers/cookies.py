"""/cookies: the banner wording and each visitor's choice (R11).

The visitor id travels in the ``byggrygg_visitor`` cookie (a session cookie: R11's necessary
cookies end with the session) or in the request; the server makes one when there is none.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Cookie, Query, Request, Response

from byggrygg_shared.problems import problem_responses
from consent.domain.cookies import VISITOR_ID, CookieChoice, NoCookieChoice, new_visitor_id
from consent.entrypoints.dependencies import Deps
from consent.schemas.cookies import CookieChoiceCreate, CookieChoiceRead, VisitorId
from consent.schemas.wording import WordingRead
from consent.service_layer import cookies

router = APIRouter(prefix="/cookies", tags=["cookies"])

VISITOR_COOKIE: Final = "byggrygg_visitor"

VisitorCookie = Annotated[str | None, Cookie(alias=VISITOR_COOKIE)]


def valid_cookie(value: str | None) -> str | None:
    """The cookie's visitor id if it is one the server could have made."""
    return value if value is not None and VISITOR_ID.fullmatch(value) else None


def set_visitor_cookie(request: Request, response: Response, visitor_id: str) -> None:
    response.set_cookie(
        VISITOR_COOKIE,
        visitor_id,
        httponly=True,
        samesite="lax",
        secure=bool(getattr(request.app.state, "visitor_cookie_secure", False)),
        path="/",
    )


def choice_read(visitor_id: str, choice: CookieChoice) -> CookieChoiceRead:
    return CookieChoiceRead(
        visitor_id=visitor_id,
        necessary=choice.necessary,
        analytics=choice.analytics,
        policy_version=choice.policy_version,
        wording_sha256=choice.wording_sha256,
        recorded_at=choice.recorded_at,
    )


@router.get(
    "/wording",
    summary="The cookie banner's wording, with its hash (public)",
    responses=problem_responses(409),
)
async def wording(deps: Deps) -> WordingRead:
    return WordingRead.model_validate(await cookies.get_banner_wording(deps=deps))


@router.post(
    "/choice",
    summary="Record a visitor's choice (public); it supersedes the previous one",
    description="Necessary cookies are always on; `analytics` is the choice. Withdraw "
    "analytics by posting `analytics: false`. Sets the byggrygg_visitor cookie.",
    responses=problem_responses(409, 422),
)
async def record_choice(
    body: CookieChoiceCreate,
    deps: Deps,
    request: Request,
    response: Response,
    visitor_cookie: VisitorCookie = None,
) -> CookieChoiceRead:
    visitor_id = body.visitor_id or valid_cookie(visitor_cookie) or new_visitor_id()
    choice = await cookies.handle_record_choice(
        deps=deps,
        visitor_id=visitor_id,
        analytics=body.analytics,
        wording_sha256=body.wording_sha256,
    )
    set_visitor_cookie(request, response, visitor_id)
    return choice_read(visitor_id, choice)


@router.get(
    "/choice",
    summary="A visitor's current choice (public; by cookie or visitor_id)",
    responses=problem_responses(404, 422),
)
async def read_choice(
    deps: Deps,
    visitor_id: Annotated[VisitorId | None, Query()] = None,
    visitor_cookie: VisitorCookie = None,
) -> CookieChoiceRead:
    chosen = visitor_id or valid_cookie(visitor_cookie)
    if chosen is None:
        raise NoCookieChoice()
    return choice_read(chosen, await cookies.get_choice(deps=deps, visitor_id=chosen))
