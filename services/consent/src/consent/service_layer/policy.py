"""Privacy-policy versions (R20): publish (platform staff), read the current one and any other.

A version is its own stream (``policy-<label>``) holding exactly one ``PolicyPublished``:
appending at expected version 0 is what makes a label unique and a version immutable.
"""

from __future__ import annotations

from datetime import date

from byggrygg_shared.contracts.consent import PolicyPublished
from byggrygg_shared.eventstore import ConcurrentAppend
from consent.adapters import policy_versions
from consent.domain import policy
from consent.domain.policy import PolicyVersion, PolicyVersionExists, PolicyVersionNotFound
from consent.service_layer.context import Actor, Dependencies
from consent.service_layer.errors import NotAllowed


def policy_stream(label: str) -> str:
    return f"policy-{label}"


async def handle_publish_policy(
    *, deps: Dependencies, actor: Actor, version: str, text: str, effective_on: date
) -> PolicyVersion:
    """Publish a new version (platform staff only); raises ``PolicyVersionExists``."""
    if not actor.is_staff:
        raise NotAllowed()
    published = policy.publish(
        version=version,
        text=text,
        effective_on=effective_on,
        now=deps.clock(),
        published_by=actor.user_id,
    )
    event = PolicyPublished(
        version=published.version,
        text=published.text,
        text_sha256=published.text_sha256,
        effective_on=published.effective_on,
        published_at=published.published_at,
        published_by=published.published_by,
    )
    async with deps.unit_of_work() as conn:
        try:
            await deps.store.append(
                conn,
                stream_id=policy_stream(published.version),
                expected_version=0,
                events=[event],
                metadata=deps.metadata(),
            )
        except ConcurrentAppend:
            raise PolicyVersionExists(published.version) from None
        if not await policy_versions.insert_version(conn, published):
            raise PolicyVersionExists(published.version)
    return published


async def current_policy(*, deps: Dependencies) -> PolicyVersion | None:
    """The version in effect today, or None if none is yet."""
    return await policy_versions.current_version(deps.pool, today=deps.clock().date())


async def get_policy(*, deps: Dependencies, version: str) -> PolicyVersion:
    # A label no version can have (a NUL above all, which PostgreSQL refuses: a 500) is not
    # looked up.
    if not policy.VERSION_LABEL.fullmatch(version):
        raise PolicyVersionNotFound(version)
    found = await policy_versions.version_named(deps.pool, version)
    if found is None:
        raise PolicyVersionNotFound(version)
    return found


async def list_policies(*, deps: Dependencies) -> list[PolicyVersion]:
    return await policy_versions.all_versions(deps.pool)
