"""The access export document and its HTML view (R14): sections per participant, who had
nothing, and a page in which no value can ever become markup."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from privacy_orchestrator.domain.access_export import (
    CONTENT_SECURITY_POLICY,
    FORMAT,
    document_text,
    export_document,
    export_html,
)
from privacy_orchestrator.entrypoints.api import create_app

AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
REQUEST_ID = uuid4()


def document(**parts: Any) -> dict[str, Any]:
    return export_document(
        request_id=REQUEST_ID,
        subject_ref="subj_1",
        generated_at=AT,
        expires_at=AT + timedelta(days=7),
        asked=["identity", "courses", "consent", "subprocessor:HeiHallo"],
        parts={name: json.dumps(part) for name, part in parts.items()},
    )


def test_the_document_has_one_section_per_participant_and_names_who_had_nothing() -> None:
    identity = {"service": "identity", "user": {"name": "Kari Nordmann", "licences": []}}
    heihallo = {"messages": [{"text": "hei"}]}
    made = document(identity=identity, **{"subprocessor:HeiHallo": heihallo})
    assert made == {
        "format": FORMAT,
        "request_id": str(REQUEST_ID),
        "subject_ref": "subj_1",
        "generated_at": "2026-11-25T09:30:00Z",
        "expires_at": "2026-12-02T09:30:00Z",
        "services": {"identity": identity},
        "sub_processors": {"HeiHallo": heihallo},
        "without_data": ["consent", "courses"],
        "unreadable": [],
    }
    assert json.loads(document_text(made)) == made
    silent = document(identity=identity)
    assert silent["without_data"] == ["consent", "courses", "subprocessor:HeiHallo"]


def test_unreadable_parts_are_named_not_counted_as_empty_and_text_parts_are_kept() -> None:
    made = export_document(
        request_id=REQUEST_ID,
        subject_ref="subj_1",
        generated_at=AT,
        expires_at=AT,
        asked=["identity", "courses"],
        parts={"identity": "not json"},
        unreadable=["courses"],
    )
    assert made["services"] == {"identity": "not json"}
    assert made["unreadable"] == ["courses"]
    assert made["without_data"] == []


def test_the_page_escapes_markup_in_keys_and_values() -> None:
    page = export_html(
        document(
            identity={
                "name": "<script>alert('x')</script>",
                "<img src=x onerror=alert(1)>": ['"quoted" & <b>bold</b>'],
            }
        )
    )
    assert "<script" not in page
    assert "<img" not in page
    assert "<b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "Kari" not in page  # nothing invented
    assert "consent, courses" in page  # who held nothing


def test_the_policy_allows_only_the_page_own_style_block() -> None:
    page = export_html(document())
    (style,) = re.findall(r"<style>(.*?)</style>", page)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert "script" not in CONTENT_SECURITY_POLICY


class _Page(HTMLParser):
    """The tags and the text of a page, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parsed(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


# Any text a participant could have sealed (UTF-8: no lone surrogates).
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


@given(key=_TEXT, value=_TEXT, name=_TEXT)
def test_no_string_ever_changes_the_page_structure(key: str, value: str, name: str) -> None:
    neutral = export_html(document(identity={"k": "v"}))
    page = export_html(document(identity={key: value}, **{f"subprocessor:{name}": {}}))
    reference = export_html(document(identity={"k": "v"}, **{"subprocessor:n": {}}))
    parsed = _parsed(page)
    # The same tags in the same order whatever the strings: no value became markup.
    assert parsed.tags == _parsed(reference).tags
    assert page.count("<") == reference.count("<")
    assert page.count(">") == reference.count(">")
    text = "".join(parsed.text)
    assert value in text
    assert key in text
    assert neutral.count("<") < page.count("<")


_PAGE_TAGS = frozenset(
    [
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "h3",
        "table",
        "tr",
        "th",
        "td",
        "ol",
        "li",
        "em",
        "p",
    ]
)


@given(part=_JSON)
def test_any_json_part_renders_with_the_page_own_tags_only(part: Any) -> None:
    assert set(_parsed(export_html(document(identity=part))).tags) <= _PAGE_TAGS


def test_the_export_routes_are_documented_with_their_problems() -> None:
    paths = create_app().openapi()["paths"]
    for path in ("/requests/{request_id}/export", "/requests/{request_id}/export.html"):
        assert {"200", "401", "404", "409", "410"} <= set(paths[path]["get"]["responses"]), path
