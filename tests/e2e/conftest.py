"""Fixtures of the privacy stories (tests/e2e/test_*_story.py about issue 5) and of the
browser tests (``browser``: Debian's Chromium, headless, through Playwright)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from ..identity_client import IdentityApi
from ..platform_processes import Platform
from .ops_dashboard_page import chromium
from .privacy_story import PrivacyStory


@pytest_asyncio.fixture(loop_scope="session")
async def privacy_story(
    platform: Platform, platform_identity: IdentityApi
) -> AsyncIterator[PrivacyStory]:
    """Clients of the session's courses, consent and orchestrator, beside identity's."""
    async with (
        httpx.AsyncClient(base_url=platform.url("courses"), timeout=30.0) as courses,
        httpx.AsyncClient(base_url=platform.url("consent"), timeout=30.0) as consent,
        httpx.AsyncClient(
            base_url=platform.url("privacy-orchestrator"), timeout=30.0
        ) as orchestrator,
    ):
        yield PrivacyStory(
            platform=platform,
            identity=platform_identity,
            courses=courses,
            consent=consent,
            orchestrator=orchestrator,
        )


@pytest_asyncio.fixture(loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """The system Chromium (never a downloaded one), headless."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium(), headless=True)
        try:
            yield launched
        finally:
            await launched.close()
