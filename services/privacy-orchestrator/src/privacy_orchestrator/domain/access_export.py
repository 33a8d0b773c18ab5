"""The person's access export (R14, art. 15 and 20): one JSON document, and its HTML view.

The document gathers every participant's and sub-processor's part as structured JSON::

    {"format": "byggrygg.access-export.v1", "request_id": "...", "subject_ref": "...",
     "generated_at": "...Z", "expires_at": "...Z",
     "services": {"identity": {...}, "courses": {...}},
     "sub_processors": {"HeiHallo": {...}},
     "without_data": ["consent"], "unreadable": []}

``without_data`` names who was asked and returned no part (they hold nothing about the
person); ``unreadable`` names parts that could not be read (their key was shredded or the
token was damaged): the person is told rather than silently given less.

The HTML view is built from the same document: every key and value passes through
``html.escape``, there is no script and no link, and the one style block is allowed by its
hash in ``CONTENT_SECURITY_POLICY`` (nothing else may load or run).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final
from uuid import UUID

FORMAT: Final = "byggrygg.access-export.v1"
SUBPROCESSOR_PREFIX: Final = "subprocessor:"


def _timestamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _structured(text: str) -> Any:
    """A part as structured JSON; a part that is not JSON is kept as its text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def export_document(
    *,
    request_id: UUID,
    subject_ref: str,
    generated_at: datetime,
    expires_at: datetime,
    asked: Iterable[str],
    parts: Mapping[str, str],
    unreadable: Iterable[str] = (),
) -> dict[str, Any]:
    """The one export document.

    ``asked`` names every participant (``identity``) and sub-processor
    (``subprocessor:HeiHallo``) the request went to; ``parts`` maps the ones that returned a
    readable part to its plaintext JSON; ``unreadable`` names parts that could not be read.
    """
    services: dict[str, Any] = {}
    sub_processors: dict[str, Any] = {}
    for name in sorted(parts):
        if name.startswith(SUBPROCESSOR_PREFIX):
            sub_processors[name.removeprefix(SUBPROCESSOR_PREFIX)] = _structured(parts[name])
        else:
            services[name] = _structured(parts[name])
    unread = set(unreadable)
    return {
        "format": FORMAT,
        "request_id": str(request_id),
        "subject_ref": subject_ref,
        "generated_at": _timestamp(generated_at),
        "expires_at": _timestamp(expires_at),
        "services": services,
        "sub_processors": sub_processors,
        "without_data": sorted(set(asked) - set(parts) - unread),
        "unreadable": sorted(unread),
    }


def document_text(document: Mapping[str, Any]) -> str:
    """The file the person downloads: UTF-8 JSON, keys sorted, indented for reading."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2)


# --- the HTML view --------------------------------------------------------------------------

_STYLE: Final = (
    "body{font-family:sans-serif;margin:2rem;max-width:60rem}"
    "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2rem .5rem;"
    "text-align:left;vertical-align:top}ol{margin:0;padding-left:1.5rem}"
)
_STYLE_HASH: Final = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()

# Nothing may load, run, be framed or submitted; only the one style block (by its hash).
CONTENT_SECURITY_POLICY: Final = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def _text(value: object) -> str:
    # Lone surrogates cannot be sent as UTF-8; show them as '?'.
    return html.escape(str(value), quote=True).encode("utf-8", "replace").decode("utf-8")


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        if not value:
            return "<em>(empty)</em>"
        rows = "".join(
            f"<tr><th>{_text(key)}</th><td>{_value(item)}</td></tr>" for key, item in value.items()
        )
        return f"<table>{rows}</table>"
    if isinstance(value, list):
        if not value:
            return "<em>(none)</em>"
        return "<ol>" + "".join(f"<li>{_value(item)}</li>" for item in value) + "</ol>"
    if value is None:
        return "<em>(no value)</em>"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _text(value)


def _section(title: str, parts: Mapping[str, Any]) -> str:
    body = "".join(f"<h3>{_text(name)}</h3>{_value(part)}" for name, part in parts.items())
    return f"<h2>{_text(title)}</h2>{body or '<p>(none)</p>'}"


def export_html(document: Mapping[str, Any]) -> str:
    """A human-readable page of ``document``: every value escaped, no script."""
    names = ", ".join(_text(name) for name in document.get("without_data", [])) or "(none)"
    unread = ", ".join(_text(name) for name in document.get("unreadable", [])) or "(none)"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="referrer" content="no-referrer">'
        "<title>Your data at ByggRygg</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>Your data at ByggRygg</h1>"
        "<table>"
        f"<tr><th>Request</th><td>{_text(document.get('request_id', ''))}</td></tr>"
        f"<tr><th>Your reference</th><td>{_text(document.get('subject_ref', ''))}</td></tr>"
        f"<tr><th>Generated</th><td>{_text(document.get('generated_at', ''))}</td></tr>"
        f"<tr><th>Available until</th><td>{_text(document.get('expires_at', ''))}</td></tr>"
        f"<tr><th>Asked, holding nothing</th><td>{names}</td></tr>"
        f"<tr><th>Could not be read</th><td>{unread}</td></tr>"
        "</table>"
        + _section("Our services", document.get("services", {}))
        + _section("Sub-processors", document.get("sub_processors", {}))
        + "</body></html>"
    )
