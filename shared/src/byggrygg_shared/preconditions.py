"""Optimistic concurrency over HTTP: a resource's version as its ETag, If-Match read back.

A GET answers with ``ETag: "<version>"`` (the aggregate's stream version); a change sends it
back in ``If-Match`` and the service appends at that version, so a change based on a version
someone else has since changed fails with 409 instead of silently overwriting it. Without
If-Match where one is needed the answer is 428 (RFC 6585), malformed it is 400.
"""

from __future__ import annotations

import re
from typing import Final

from byggrygg_shared.problems import BadRequest, Problem

__all__ = ["PreconditionRequired", "etag", "expected_version", "optional_expected_version"]

# A stream version as our ETags write it: a bigint has at most 19 digits.
_VERSION: Final = re.compile(r"[0-9]{1,18}")


class PreconditionRequired(Problem):
    """A change needs If-Match (428): without it, it could overwrite a version never seen."""

    default_status = 428
    default_title = "Precondition required"
    default_type = "if-match-required"


def etag(version: int) -> str:
    """The ETag header value of a resource at `version` (a strong, quoted entity tag)."""
    return f'"{version}"'


def optional_expected_version(if_match: str | None) -> int | None:
    """The version in an If-Match header written as our ETag ("3", W/"3" or 3); None if absent."""
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    # ASCII digits only, and few: str.isdigit() also takes "²" (a header is decoded as
    # latin-1), and int() refuses both it and numbers of over 4300 digits, which was a 500.
    if not _VERSION.fullmatch(text):
        raise BadRequest("If-Match must be an ETag returned by this API.")
    return int(text)


def expected_version(if_match: str | None) -> int:
    """The version in a required If-Match header; `PreconditionRequired` if it is absent."""
    version = optional_expected_version(if_match)
    if version is None:
        raise PreconditionRequired("Send If-Match with the ETag of the version you edited.")
    return version
