"""Rules of cookie choices (R11), policy versions (R20) and the mail back-off."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from consent.domain.cookies import (
    DropReason,
    InvalidAnalyticsEvent,
    InvalidVisitorId,
    clean_page_path,
    drop_reason,
    new_visitor_id,
    record_choice,
    visitor_ref,
)
from consent.domain.policy import (
    InvalidPolicyVersion,
    RetroactivePolicy,
    current_of,
    publish,
)
from consent.domain.wording import StaleWording, cookie_banner_wording, newsletter_wording
from consent.service_layer.mail import Backoff

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_visitor_refs_are_stable_one_way_pseudonyms() -> None:
    visitor = new_visitor_id()
    assert visitor_ref(visitor) == visitor_ref(visitor)
    assert visitor_ref(visitor) != visitor_ref(new_visitor_id())
    assert visitor not in visitor_ref(visitor)
    assert visitor_ref(visitor).startswith("subj_")
    with pytest.raises(InvalidVisitorId):
        visitor_ref("short")


def test_only_a_current_choice_with_analytics_lets_events_in() -> None:
    wording = cookie_banner_wording("2025-1")
    ref = visitor_ref(new_visitor_id())

    def choice(analytics: bool) -> object:
        return record_choice(
            visitor_ref=ref,
            analytics=analytics,
            wording=wording,
            shown_sha256=wording.sha256,
            now=NOW,
        )

    assert drop_reason(None) is DropReason.NO_CHOICE
    assert drop_reason(choice(False)) is DropReason.ANALYTICS_DECLINED  # type: ignore[arg-type]
    assert drop_reason(choice(True)) is None  # type: ignore[arg-type]
    with pytest.raises(StaleWording):
        record_choice(
            visitor_ref=ref, analytics=True, wording=wording, shown_sha256="0" * 64, now=NOW
        )


def test_page_paths_lose_query_and_fragment() -> None:
    assert clean_page_path("/kurs/1?email=a@b.no#top") == "/kurs/1"
    for bad in ("kurs", "?x=1", "/" + "x" * 600):
        with pytest.raises(InvalidAnalyticsEvent):
            clean_page_path(bad)


def test_wordings_change_with_the_policy_version() -> None:
    assert newsletter_wording("2025-1").sha256 != newsletter_wording("2025-2").sha256
    assert cookie_banner_wording("2025-1").sha256 != newsletter_wording("2025-1").sha256
    assert "2025-1" in cookie_banner_wording("2025-1").text


def test_policy_rules() -> None:
    first = publish(version="2024-1", text="a", effective_on=NOW.date(), now=NOW, published_by="s")
    later = publish(
        version="2025-1",
        text="b",
        effective_on=NOW.date() + timedelta(days=10),
        now=NOW,
        published_by="s",
    )
    assert current_of([first, later], today=NOW.date()) == first
    assert current_of([first, later], today=NOW.date() + timedelta(days=10)) == later
    assert current_of([later], today=NOW.date()) is None
    with pytest.raises(RetroactivePolicy):
        publish(version="x", text="a", effective_on=date(2020, 1, 1), now=NOW, published_by="s")
    for label in ("current", "a/b", "", "x" * 41):
        with pytest.raises(InvalidPolicyVersion):
            publish(version=label, text="a", effective_on=NOW.date(), now=NOW, published_by="s")


def test_mail_back_off_doubles_and_is_capped() -> None:
    backoff = Backoff(first=timedelta(seconds=5), cap=timedelta(hours=1))
    assert [backoff.after(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert backoff.after(1000) == timedelta(hours=1)
