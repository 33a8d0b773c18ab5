"""Regressions found by tests/security through the real process: numbers PostgreSQL cannot hold
and an If-Match that only looks numeric were a 500; they are 4xx problems that write nothing."""

from __future__ import annotations

import httpx
import pytest

from courses.bootstrap import Runtime

from ....service_testing import assert_problem
from .support import Steps, snapshot


@pytest.mark.parametrize(
    "query",
    [
        "version=2147483648",  # over PostgreSQL's integer
        "offset=9223372036854775808",  # over its bigint
        "offset=" + "9" * 30,
    ],
)
async def test_an_answers_filter_out_of_range_is_422_not_500(
    http: httpx.AsyncClient, steps: Steps, query: str
) -> None:
    course = await steps.create_course()
    response = await http.get(
        f"/courses/{course['course_id']}/answers?{query}", headers=steps.staff.headers
    )
    assert_problem(response, 422)


@pytest.mark.parametrize("if_match", [b'"\xb2"', b"\xb9", b'"' + b"9" * 5000 + b'"'])
async def test_an_if_match_that_only_looks_numeric_is_400_and_writes_nothing(
    http: httpx.AsyncClient, steps: Steps, runtime: Runtime, if_match: bytes
) -> None:
    course = await steps.create_course()
    url = f"/courses/{course['course_id']}"
    before = await snapshot(runtime.pool)
    # Raw header bytes, decoded by the server as latin-1 ("\xb2" is "²", which isdigit()).
    headers = [
        (b"authorization", steps.staff.headers["Authorization"].encode()),
        (b"if-match", if_match),
    ]
    for response in (
        await http.put(f"{url}/draft", json={"title": "Ny tittel"}, headers=headers),
        await http.post(f"{url}/publish", headers=headers),
    ):
        assert_problem(response, 400)
    assert await snapshot(runtime.pool) == before
