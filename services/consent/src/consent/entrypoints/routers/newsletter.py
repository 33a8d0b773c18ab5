"""/newsletter: sign-up with double opt-in, confirmation, withdrawal, the send list (R8).

The links in mails open small pages (GET) whose button POSTs to the same URL: a mail
scanner that fetches links cannot confirm or withdraw anything. The withdrawal URL also takes
a bare POST, as RFC 8058 one-click unsubscribe sends it (List-Unsubscribe-Post).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status
from fastapi.responses import HTMLResponse

from byggrygg_shared.problems import problem_responses
from consent.entrypoints.dependencies import Deps, StaffActor
from consent.schemas.newsletter import (
    ConfirmationRead,
    RecipientRead,
    SignupAccepted,
    SubscriptionCreate,
    SubscriptionRead,
    WithdrawalRead,
)
from consent.schemas.wording import WordingRead
from consent.service_layer import newsletter

router = APIRouter(prefix="/newsletter", tags=["newsletter"])

Token = Annotated[str, Query(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


def _page(title: str, text: str, button: str) -> HTMLResponse:
    # Fixed text only: nothing from the request is echoed into the page.
    return HTMLResponse(
        "<!doctype html><html lang='nb'><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body><h1>{title}</h1><p>{text}</p>"
        f"<form method='post'><button type='submit'>{button}</button></form></body></html>",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


@router.get(
    "/wording",
    summary="The consent wording to show on the sign-up form, with its hash (public)",
    responses=problem_responses(409),
)
async def wording(deps: Deps) -> WordingRead:
    return WordingRead.model_validate(await newsletter.get_wording(deps=deps))


@router.post(
    "/subscriptions",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Sign up (public); a confirmation link is mailed (double opt-in)",
    description="Send the sha256 of the wording shown; a stale one gives 409. The answer is "
    "the same whether or not the address is already subscribed.",
    responses=problem_responses(409, 422),
)
async def subscribe(body: SubscriptionCreate, deps: Deps) -> SignupAccepted:
    await newsletter.handle_subscribe(
        deps=deps,
        name=body.name,
        email=str(body.email),
        role=body.role,
        wording_sha256=body.wording_sha256,
    )
    return SignupAccepted()


@router.get(
    "/confirm",
    response_class=HTMLResponse,
    summary="The page a confirmation link opens (its button confirms)",
    responses=problem_responses(422),
)
async def confirmation_page(token: Token) -> HTMLResponse:
    del token  # checked when the button posts it back
    return _page(
        "Bekreft påmelding",
        "Trykk på knappen for å bekrefte at du vil motta nyhetsbrevet fra ByggRygg.",
        "Bekreft",
    )


@router.post(
    "/confirm",
    summary="Confirm a sign-up with the token from the mail: the consent is recorded",
    responses=problem_responses(404, 409, 410, 422),
)
async def confirm(token: Token, deps: Deps) -> ConfirmationRead:
    subscription_id = await newsletter.handle_confirm(deps=deps, token=token)
    return ConfirmationRead(subscription_id=subscription_id)


@router.get(
    "/withdraw",
    response_class=HTMLResponse,
    summary="The page a withdrawal link opens (its button withdraws)",
    responses=problem_responses(422),
)
async def withdrawal_page(subscription_id: UUID, token: Token) -> HTMLResponse:
    del subscription_id, token  # checked when the button posts them back
    return _page(
        "Meld av nyhetsbrevet",
        "Trykk på knappen for å trekke tilbake samtykket. Du får ikke flere nyhetsbrev.",
        "Meld meg av",
    )


@router.post(
    "/withdraw",
    summary="Withdraw with the one-click link from a mail (RFC 8058 one-click POST works too)",
    responses=problem_responses(404, 422),
)
async def withdraw_by_link(subscription_id: UUID, token: Token, deps: Deps) -> WithdrawalRead:
    changed = await newsletter.handle_withdraw_by_link(
        deps=deps, subscription_id=subscription_id, token=token
    )
    return WithdrawalRead(changed=changed)


@router.get(
    "/recipients",
    summary="The send list (platform staff): confirmed, never withdrawn or unconfirmed",
    responses=problem_responses(401, 403),
)
async def recipients(deps: Deps, actor: StaffActor) -> list[RecipientRead]:
    return [
        RecipientRead(
            subscription_id=item.recipient.subscription_id,
            name=item.recipient.name,
            email=item.recipient.email,
            role=item.recipient.role,
            confirmed_at=item.recipient.confirmed_at,
            policy_version=item.recipient.policy_version,
            withdrawal_url=item.withdrawal_url,
        )
        for item in await newsletter.list_recipients(deps=deps, actor=actor)
    ]


@router.get(
    "/subscriptions/{subscription_id}",
    summary="A subscription and its consent evidence (platform staff)",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_subscription(
    subscription_id: UUID, deps: Deps, actor: StaffActor
) -> SubscriptionRead:
    view = await newsletter.get_subscription(
        deps=deps, actor=actor, subscription_id=subscription_id
    )
    return SubscriptionRead.model_validate(view)


@router.post(
    "/subscriptions/{subscription_id}/withdraw",
    summary="Withdraw a subscription for the subscriber (platform staff)",
    responses=problem_responses(401, 403, 404, 422),
)
async def withdraw_by_staff(subscription_id: UUID, deps: Deps, actor: StaffActor) -> WithdrawalRead:
    changed = await newsletter.handle_withdraw_by_staff(
        deps=deps, actor=actor, subscription_id=subscription_id
    )
    return WithdrawalRead(changed=changed)
