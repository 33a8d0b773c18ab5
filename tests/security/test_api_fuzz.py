"""Property-based fuzzing of every service's OpenAPI document against its REAL process.

schemathesis reads `/openapi.json` of identity, courses, consent and reporting (served by
`<svc> serve` on a platform of this module's own, so what the fuzzing creates never meets
another test's data) and sends, for every operation, requests generated from the document:
valid ones (positive) and ones that break it (negative: wrong types, missing fields, values
out of range), once as platform staff and once without a token. Every answer must hold:

- never a 5xx (a crash is a defect, whatever was sent);
- every 4xx is an `application/problem+json` document (RFC 9457) with the status it answers;
- it conforms to the documented response: content type, and the JSON schema of that status
  where the document gives one (schemathesis' `content_type_conformance` and
  `response_schema_conformance`).

Deterministic and bounded for CI: Hypothesis is derandomized (the examples depend only on the
document), has no example database and no deadline, does not shrink (a failure is reported
with the request that caused it), and tries EXAMPLES examples per operation and mode.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from ..platform_processes import Platform, running_platform

EXAMPLES = 25
PROBLEM_JSON = "application/problem+json"
# Reporting: its statistics and ops routes are fuzzed like the others.
SERVICES = ("identity", "courses", "consent", "reporting")


@dataclass(frozen=True)
class Finding:
    """One request whose answer broke a rule (no token or body is ever part of it)."""

    operation: str
    mode: str
    status: int
    rule: str
    request: str

    def __str__(self) -> str:
        return f"{self.operation} [{self.mode}] -> {self.status}: {self.rule}\n    {self.request}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fuzz_platform(
    pg_admin_dsn: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    async with running_platform(
        ["courses", "consent", "reporting"],
        admin_dsn=pg_admin_dsn,
        kafka_bootstrap=kafka_bootstrap,
        workdir=tmp_path_factory.mktemp("fuzz-platform"),
    ) as platform:
        yield platform


@pytest.fixture(scope="module")
def staff_token(fuzz_platform: Platform) -> str:
    response = httpx.post(
        f"{fuzz_platform.url('identity')}/auth/token",
        json={"email": fuzz_platform.staff_email, "password": fuzz_platform.staff_password},
        timeout=30.0,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


def _described(case: Case) -> str:
    """Method, path and the generated parts, without the Authorization header."""
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    parts = {
        "path_parameters": case.path_parameters,
        "query": case.query,
        "headers": headers,
        "body": case.body if not isinstance(case.body, bytes) else repr(case.body[:200]),
    }
    text = json.dumps({k: v for k, v in parts.items() if v}, default=repr, ensure_ascii=True)
    return f"{case.method} {case.formatted_path} {text[:600]}"


def _header(response: schemathesis.Response, name: str) -> str:
    values = response.headers.get(name.lower()) or []
    return values[0] if values else ""


def _own_rules(response: schemathesis.Response) -> str | None:
    """The platform's rules (DESIGN §7): the broken one, or None."""
    status = response.status_code
    if status >= 500:
        return "a server error"
    if 400 <= status < 500:
        if not _header(response, "content-type").startswith(PROBLEM_JSON):
            return f"a {status} that is not {PROBLEM_JSON}"
        try:
            document = json.loads(response.content)
        except ValueError:
            return f"a {status} whose body is not JSON"
        if not isinstance(document, dict) or document.get("status") != status:
            return f"a {status} problem document without that status"
        if "Traceback" in response.text:
            return "a traceback in the answer"
    return None


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    *,
    base_url: str,
    headers: dict[str, str],
    session: requests.Session,
    findings: list[Finding],
    statuses: Counter[int],
) -> None:
    """EXAMPLES requests to one operation in one mode; counts the answers' statuses."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        response = case.call(base_url=base_url, session=session, headers=headers)
        statuses[response.status_code] += 1
        broken = _own_rules(response)
        if broken is None:
            try:
                case.validate_response(
                    response,
                    checks=[content_type_conformance, response_schema_conformance],
                    headers=headers,
                )
            # One failed check is an AssertionError, several a group of them.
            except (AssertionError, BaseExceptionGroup) as failure:
                broken = str(failure).strip().splitlines()[0][:300]
        if broken is not None:
            findings.append(
                Finding(
                    operation=operation.label,
                    mode=mode.value,
                    status=response.status_code,
                    rule=broken,
                    request=_described(case),
                )
            )

    try:
        run()
    except Unsatisfiable:
        # Nothing of the operation can be broken (no parameter, no body): only the negative
        # mode of such an operation ends here.
        assert mode is GenerationMode.NEGATIVE, operation.label


def _fuzz(
    base_url: str, headers: dict[str, str], session: requests.Session
) -> tuple[list[Finding], Counter[int]]:
    """Every operation of the service at `base_url`, in both modes: what broke a rule, and
    how many answers of each status came back."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    findings: list[Finding] = []
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz_operation(
                result.ok(),
                mode,
                base_url=base_url,
                headers=headers,
                session=session,
                findings=findings,
                statuses=statuses,
            )
    return findings, statuses


def _report(findings: list[Finding]) -> str:
    unique = {(f.operation, f.mode, f.status, f.rule): f for f in findings}
    return f"{len(findings)} answer(s) broke a rule:\n" + "\n".join(str(f) for f in unique.values())


@pytest.mark.parametrize("service", SERVICES)
def test_fuzzing_as_platform_staff_finds_no_crash_and_no_undocumented_answer(
    fuzz_platform: Platform, staff_token: str, session: requests.Session, service: str
) -> None:
    findings, statuses = _fuzz(
        fuzz_platform.url(service), {"Authorization": f"Bearer {staff_token}"}, session
    )
    assert not findings, _report(findings)
    # The controls: the token was accepted (some answers succeeded), and the negative mode
    # did reach the validation (some 422s).
    assert any(200 <= status < 300 for status in statuses), statuses
    assert statuses[422] > 0, statuses


@pytest.mark.parametrize("service", SERVICES)
def test_fuzzing_without_a_token_finds_no_crash_and_no_undocumented_answer(
    fuzz_platform: Platform, session: requests.Session, service: str
) -> None:
    findings, statuses = _fuzz(fuzz_platform.url(service), {}, session)
    assert not findings, _report(findings)
    assert statuses[401] > 0, statuses  # the control: protected operations were refused
