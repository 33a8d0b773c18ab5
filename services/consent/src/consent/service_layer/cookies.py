"""Cookie choices (R11) and the analytics intake that honours them.

A choice is appended to the visitor's stream (``visitor-<visitor_ref>``) and projected as the
visitor's current choice in the same transaction, so a withdrawal stops the intake at once.
The intake stores an event only when the current choice includes analytics; every other event
is dropped: counted (Prometheus and ``analytics_drops``, per day and reason, no visitor id)
and not stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from byggrygg_shared.contracts.consent import CookieChoiceRecorded
from consent.adapters import cookie_store
from consent.adapters.policy_versions import current_version
from consent.domain.cookies import (
    CookieChoice,
    NoCookieChoice,
    check_event_name,
    clean_page_path,
    drop_reason,
    record_choice,
    visitor_ref,
)
from consent.domain.newsletter import NoPolicyToConsentTo
from consent.domain.wording import Wording, cookie_banner_wording
from consent.metrics import analytics_events_dropped_total, analytics_events_stored_total
from consent.service_layer.context import Actor, Dependencies
from consent.service_layer.errors import NotAllowed


async def get_banner_wording(*, deps: Dependencies) -> Wording:
    """The cookie banner the portal shows now, with its hash and policy version."""
    current = await current_version(deps.pool, today=deps.clock().date())
    if current is None:
        raise NoPolicyToConsentTo()
    return cookie_banner_wording(current.version)


async def handle_record_choice(
    *, deps: Dependencies, visitor_id: str, analytics: bool, wording_sha256: str
) -> CookieChoice:
    """Record a visitor's choice (R11); it supersedes the previous one."""
    ref = visitor_ref(visitor_id)
    async with deps.unit_of_work() as conn:
        current = await current_version(conn, today=deps.clock().date())
        if current is None:
            raise NoPolicyToConsentTo()
        choice = record_choice(
            visitor_ref=ref,
            analytics=analytics,
            wording=cookie_banner_wording(current.version),
            shown_sha256=wording_sha256,
            now=deps.clock(),
        )
        previous = await cookie_store.current_choice(conn, ref, lock=True)
        version = 0 if previous is None else previous[1]
        await deps.store.append(
            conn,
            stream_id=cookie_store.visitor_stream(ref),
            expected_version=version,
            events=[
                CookieChoiceRecorded(
                    subject_ref=ref,
                    necessary=True,
                    analytics=choice.analytics,
                    recorded_at=choice.recorded_at,
                    policy_version=choice.policy_version,
                    wording_sha256=choice.wording_sha256,
                )
            ],
            metadata=deps.metadata(subject_ref=ref),
        )
        await cookie_store.project_choice(conn, choice, version=version + 1)
    return choice


async def get_choice(*, deps: Dependencies, visitor_id: str) -> CookieChoice:
    found = await cookie_store.current_choice(deps.pool, visitor_ref(visitor_id))
    if found is None:
        raise NoCookieChoice()
    return found[0]


@dataclass(frozen=True)
class IntakeOutcome:
    stored: bool


async def handle_analytics_event(
    *, deps: Dependencies, visitor_id: str | None, event_name: str, page_path: str
) -> IntakeOutcome:
    """Store the event if the visitor's current choice includes analytics, else drop it."""
    kind = check_event_name(event_name)
    path = clean_page_path(page_path)
    ref = None if visitor_id is None else visitor_ref(visitor_id)
    now = deps.clock()
    async with deps.unit_of_work() as conn:
        found = None if ref is None else await cookie_store.current_choice(conn, ref)
        reason = drop_reason(None if found is None else found[0])
        if reason is not None:
            await cookie_store.count_drop(conn, day=now.date(), reason=reason)
        elif ref is not None:  # always: a choice was found for it
            await cookie_store.store_analytics_event(
                conn,
                event_id=deps.ids.new_id(),
                visitor_ref=ref,
                event_kind=kind,
                page_path=path,
                received_at=now,
            )
    if reason is not None:
        analytics_events_dropped_total.labels(reason.value).inc()
        return IntakeOutcome(stored=False)
    analytics_events_stored_total.inc()
    return IntakeOutcome(stored=True)


async def list_drop_counts(*, deps: Dependencies, actor: Actor) -> list[cookie_store.DropCount]:
    """How many analytics events were dropped, per day and reason (staff)."""
    if not actor.is_staff:
        raise NotAllowed()
    return await cookie_store.drop_counts(deps.pool)


async def list_event_counts(*, deps: Dependencies, actor: Actor) -> list[cookie_store.EventCount]:
    """Stored analytics events per day, kind and page (staff); no visitor refs."""
    if not actor.is_staff:
        raise NotAllowed()
    return await cookie_store.event_counts(deps.pool)
