"""Newsletter consent (R8): sign up with double opt-in, confirm, withdraw, and the send list.

Every command is one unit of work: the events, the projection, the confirmation token and the
mail (through the mail outbox) commit together or not at all. The public answer to a sign-up
is the same whether or not the address is already subscribed, so the endpoint does not tell
who is on the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from consent.adapters import newsletter_store as store
from consent.adapters.policy_versions import current_version
from consent.domain.errors import ConsentError
from consent.domain.newsletter import (
    ONE_CLICK_LINK,
    STAFF_API,
    ConfirmationExpired,
    ConfirmationNotFound,
    NoPolicyToConsentTo,
    SignupDetails,
    Status,
    Subscription,
    SubscriptionNotFound,
    check_withdrawal_token,
    confirmation_token_hash,
    normalise_email,
    withdrawal_token,
)
from consent.domain.wording import Wording, newsletter_wording
from consent.service_layer.context import Actor, Dependencies
from consent.service_layer.errors import NotAllowed
from consent.service_layer.mail import enqueue_mail

CONFIRMATION_MAIL_KIND = "newsletter_confirmation"
CONFIRMATION_SUBJECT = "Bekreft påmeldingen til nyhetsbrevet fra ByggRygg"


class ConcurrentSignup(ConsentError):
    """The same address signed up twice at the same moment; one of them must retry."""


def _repository(deps: Dependencies) -> store.SubscriptionRepository:
    return store.SubscriptionRepository(store=deps.store, cipher=deps.cipher)


async def _current_wording(conn: asyncpg.Connection | asyncpg.Pool, deps: Dependencies) -> Wording:
    current = await current_version(conn, today=deps.clock().date())
    if current is None:
        raise NoPolicyToConsentTo()
    return newsletter_wording(current.version)


async def get_wording(*, deps: Dependencies) -> Wording:
    """The wording a sign-up form shows now, with its hash and policy version."""
    return await _current_wording(deps.pool, deps)


def withdrawal_url(deps: Dependencies, subscription_id: UUID) -> str:
    """The one-click withdrawal link of a subscription (for every newsletter mail)."""
    token = withdrawal_token(deps.links.signing_key, subscription_id)
    return deps.links.url(f"newsletter/withdraw?subscription_id={subscription_id}&token={token}")


async def save_and_project(
    conn: asyncpg.Connection, deps: Dependencies, subscription: Subscription
) -> None:
    """Append the subscription's new events and apply them to the projection (same
    transaction)."""
    recorded = await _repository(deps).save(
        conn,
        subscription,
        aggregate_id=subscription.subscription_id,
        metadata=deps.metadata(subject_ref=subscription.subject_ref),
    )
    for item in recorded:
        await store.project(conn, item.event, version=item.stored.version)


def _confirmation_body(*, confirm_url: str, withdraw_url: str, hours: int) -> str:
    # Only links: the address is in the envelope, no other personal data in the body.
    return (
        "Hei!\n\n"
        "Noen (forhåpentlig du) har bedt om å få nyhetsbrevet fra ByggRygg til denne "
        "adressen.\n"
        f"Bekreft påmeldingen ved å åpne denne lenken innen {hours} timer:\n\n"
        f"{confirm_url}\n\n"
        "Har du ikke bedt om dette, kan du se bort fra e-posten: da blir du ikke påmeldt.\n"
        f"Vil du trekke påmeldingen tilbake nå, bruk denne lenken:\n\n{withdraw_url}\n\n"
        "Hilsen ByggRygg (Life Improvement AS)\n"
    )


async def handle_subscribe(
    *, deps: Dependencies, name: str, email: str, role: str, wording_sha256: str
) -> None:
    """Sign up (R8): records the request and mails a confirmation link (double opt-in).

    Raises ``StaleWording`` if the wording shown is not the current one, and
    ``NoPolicyToConsentTo`` if no policy version is in effect. An address that is already
    confirmed gets nothing new (and the caller the same answer).
    """
    now = deps.clock()
    address = normalise_email(email)
    details = SignupDetails(name=name, email=address, role=role)
    try:
        async with deps.unit_of_work() as conn:
            wording = await _current_wording(conn, deps)
            wording.require(wording_sha256)
            existing = await store.open_subscription_for(conn, address)
            if existing is None:
                subscription = Subscription.request(
                    subscription_id=deps.ids.new_id(),
                    subject_ref=deps.ids.new_subject_ref(),
                    details=details,
                    wording=wording,
                    shown_sha256=wording_sha256,
                    now=now,
                )
            else:
                found = await _repository(deps).get(conn, existing)
                if found is None:
                    raise SubscriptionNotFound(str(existing))
                if found.status is Status.CONFIRMED:
                    return
                subscription = found
                subscription.request_again(
                    details=details, wording=wording, shown_sha256=wording_sha256, now=now
                )
            await save_and_project(conn, deps, subscription)
            token = deps.ids.new_secret()
            await store.replace_confirmation(
                conn,
                subscription_id=subscription.subscription_id,
                token_hash=confirmation_token_hash(token),
                expires_at=now + deps.policy.confirmation_ttl,
            )
            withdraw_url = withdrawal_url(deps, subscription.subscription_id)
            await enqueue_mail(
                conn,
                deps=deps,
                to=address,
                subject=CONFIRMATION_SUBJECT,
                body=_confirmation_body(
                    confirm_url=deps.links.url(f"newsletter/confirm?token={token}"),
                    withdraw_url=withdraw_url,
                    hours=int(deps.policy.confirmation_ttl.total_seconds() // 3600),
                ),
                kind=CONFIRMATION_MAIL_KIND,
                subject_ref=subscription.subject_ref,
                headers={
                    "List-Unsubscribe": f"<{withdraw_url}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            )
    except asyncpg.UniqueViolationError:
        # Another sign-up of the same address committed first (the open-address index).
        raise ConcurrentSignup() from None


async def handle_confirm(*, deps: Dependencies, token: str) -> UUID:
    """Follow the confirmation link: the consent is given, with its evidence (R8, R20)."""
    now = deps.clock()
    async with deps.unit_of_work() as conn:
        confirmation = await store.confirmation_by_hash(conn, confirmation_token_hash(token))
        if confirmation is None:
            raise ConfirmationNotFound()
        if confirmation.expires_at <= now:
            raise ConfirmationExpired(str(confirmation.subscription_id))
        subscription = await _repository(deps).get(conn, confirmation.subscription_id)
        if subscription is None:
            raise ConfirmationNotFound()
        subscription.confirm(wording=newsletter_wording(subscription.policy_version), now=now)
        await save_and_project(conn, deps, subscription)
    return subscription.subscription_id


async def _withdraw(
    deps: Dependencies,
    subscription_id: UUID,
    *,
    method: str,
    actor: Actor | None,
) -> bool:
    async with deps.unit_of_work() as conn:
        subscription = await _repository(deps).get(conn, subscription_id)
        if subscription is None:
            raise SubscriptionNotFound(str(subscription_id))
        changed = subscription.withdraw(
            now=deps.clock(),
            method=method,
            by="subscriber" if actor is None else "staff",
            withdrawn_by=None if actor is None else actor.user_id,
        )
        await save_and_project(conn, deps, subscription)
    return changed


async def handle_withdraw_by_link(*, deps: Dependencies, subscription_id: UUID, token: str) -> bool:
    """One-click withdrawal from a mail (R8); False if it was already withdrawn."""
    check_withdrawal_token(deps.links.signing_key, subscription_id, token)
    return await _withdraw(deps, subscription_id, method=ONE_CLICK_LINK, actor=None)


async def handle_withdraw_by_staff(
    *, deps: Dependencies, actor: Actor, subscription_id: UUID
) -> bool:
    """Platform staff withdraw a subscription (e.g. asked by phone); False if it already was."""
    if not actor.is_staff:
        raise NotAllowed()
    return await _withdraw(deps, subscription_id, method=STAFF_API, actor=actor)


@dataclass(frozen=True)
class RecipientWithLink:
    recipient: store.Recipient
    withdrawal_url: str


async def list_recipients(*, deps: Dependencies, actor: Actor) -> list[RecipientWithLink]:
    """The send list (staff): only confirmed, never withdrawn, each with its one-click link."""
    if not actor.is_staff:
        raise NotAllowed()
    return [
        RecipientWithLink(recipient, withdrawal_url(deps, recipient.subscription_id))
        for recipient in await store.recipients(deps.pool)
    ]


async def get_subscription(
    *, deps: Dependencies, actor: Actor, subscription_id: UUID
) -> store.SubscriptionView:
    if not actor.is_staff:
        raise NotAllowed()
    view = await store.subscription_view(deps.pool, subscription_id)
    if view is None:
        raise SubscriptionNotFound(str(subscription_id))
    return view
