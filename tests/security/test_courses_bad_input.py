"""Bad input, wrong callers and bad tokens against the REAL courses process (DESIGN §7).

courses' own integration tests drive its app in process; these go through `courses serve`
over HTTP (uvicorn's parsing, the real settings and lifespan, tokens identity issued and
verified through its JWKS URL, consumers and outbox relay running). For each refused request:
the status, an `application/problem+json` body without traceback or echoed input, and nothing
written in courses' database or the key ring database (tests/security/platform_guard.py).

Documented choices checked here (docs/services/courses.md): another organisation's ids answer
404 exactly like ids that do not exist; answers (R4) answer 403 to org admins and contact
persons whatever they send (courses' tests prove it for every answer route in process; here a
representative set through the real process); a bad or missing token is 401; a draft edit
needs If-Match (428 without, 409 stale, 400 malformed).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from ..identity_client import IdentityApi, Member, unique_email, unique_name, unique_phone
from ..platform_processes import Platform
from .platform_guard import Guard, Send, Tokens

DEADLINE_S = 90.0
NUL = "\u0000"


def course_body(title: str | None = None) -> dict[str, Any]:
    return {
        "title": title or f"Sikkerhetskurs {uuid.uuid4().hex[:8]}",
        "description": "Kurs for sikkerhetstestene.",
        "modules": [
            {
                "title": "Modul 1",
                "questions": [
                    {
                        "kind": "single_choice",
                        "prompt": "Hvem kontrollerer stillaset?",
                        "options": [{"label": "Brukeren"}, {"label": "En kompetent person"}],
                    },
                    {"kind": "scale", "prompt": "Hvor trygg?", "scale": {"low": 1, "high": 5}},
                    {"kind": "free_text", "prompt": "Hva lærte du?", "max_length": 200},
                ],
            }
        ],
    }


@dataclass
class World:
    """Two organisations; A has an administrator, a contact person and a licensed learner
    enrolled in a published course; B has an administrator. Plus a course never published."""

    platform: Platform
    identity: IdentityApi
    http: httpx.AsyncClient
    guard: Guard
    tokens: Tokens
    org_a: str
    org_b: str
    admin_a: Member
    contact_a: Member
    learner_a: Member
    admin_b: Member
    course_id: str
    draft_course_id: str
    enrolment_id: str
    questions: dict[str, dict[str, Any]]  # kind -> question

    @property
    def staff(self) -> dict[str, str]:
        return self.identity.staff

    async def refused(
        self, status: int, send: Send, *, not_echoed: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        return await self.guard.refused(status, send, not_echoed=not_echoed)

    async def version_of(self, course_id: str) -> int:
        response = await self.http.get(f"/courses/{course_id}", headers=self.staff)
        assert response.status_code == 200, response.text
        return int(response.headers["etag"].strip('"'))


async def _contact_person(identity: IdentityApi, organisation_id: str) -> Member:
    email = unique_email("kontakt")
    listed = await identity.http.post(
        f"/organisations/{organisation_id}/contact-persons",
        json={"name": unique_name("Kari"), "email": email, "phone": unique_phone()},
        headers=identity.staff,
    )
    assert listed.status_code == 201, listed.text
    return await identity.accept(
        listed.json()["invitation"]["token"], email=email, first_name="Kari"
    )


async def _created(http: httpx.AsyncClient, staff: dict[str, str]) -> str:
    created = await http.post("/courses", json=course_body(), headers=staff)
    assert created.status_code == 201, created.text
    return str(created.json()["course_id"])


async def _wait_for_enrolment(http: httpx.AsyncClient, learner: Member, course_id: str) -> str:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        response = await http.get("/me/enrolments", headers=learner.headers)
        assert response.status_code == 200, response.text
        for enrolment in response.json():
            if enrolment["course_id"] == course_id:
                return str(enrolment["enrolment_id"])
        await asyncio.sleep(0.3)
    pytest.fail(f"courses did not enrol the learner within {DEADLINE_S}s", pytrace=False)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(platform: Platform) -> AsyncIterator[World]:
    async with (
        httpx.AsyncClient(base_url=platform.url("identity"), timeout=30.0) as identity_http,
        httpx.AsyncClient(base_url=platform.url("courses"), timeout=30.0) as http,
    ):
        identity = IdentityApi(
            http=identity_http,
            staff_email=platform.staff_email,
            staff_password=platform.staff_password,
        )
        await identity.log_in_staff()
        org_a = str((await identity.register_organisation())["organisation_id"])
        org_b = str((await identity.register_organisation())["organisation_id"])
        admin_a = await identity.add_admin(org_a)
        learner_a = await identity.add_learner(org_a, admin_a)
        course_id = await _created(http, identity.staff)
        published = await http.post(f"/courses/{course_id}/publish", headers=identity.staff)
        assert published.status_code == 201, published.text
        assigned = await http.post(
            f"/organisations/{org_a}/courses", json={"course_id": course_id}, headers=identity.staff
        )
        assert assigned.status_code == 201, assigned.text
        granted = await identity_http.post(
            f"/users/{learner_a.user_id}/licences", headers=admin_a.headers
        )
        assert granted.status_code == 201, granted.text
        enrolment_id = await _wait_for_enrolment(http, learner_a, course_id)
        content = (
            await http.get(f"/me/enrolments/{enrolment_id}", headers=learner_a.headers)
        ).json()
        questions = {
            q["kind"]: q for module in content["content"]["modules"] for q in module["questions"]
        }
        yield World(
            platform=platform,
            identity=identity,
            http=http,
            guard=Guard(platform["courses"].database_url, platform.keyring_database_url),
            tokens=Tokens.of(platform, identity.staff_token),
            org_a=org_a,
            org_b=org_b,
            admin_a=admin_a,
            contact_a=await _contact_person(identity, org_a),
            learner_a=learner_a,
            admin_b=await identity.add_admin(org_b),
            course_id=course_id,
            draft_course_id=await _created(http, identity.staff),
            enrolment_id=enrolment_id,
            questions=questions,
        )


JSON = {"Content-Type": "application/json"}


def _body_routes(world: World) -> list[tuple[str, str, dict[str, str]]]:
    """(method, url, headers) of every route that takes a body, as a caller allowed to."""
    version = {"If-Match": '"1"'}
    enrolment = f"/me/enrolments/{world.enrolment_id}"
    return [
        ("POST", "/courses", world.staff),
        ("PUT", f"/courses/{world.draft_course_id}/draft", {**world.staff, **version}),
        ("POST", f"/organisations/{world.org_a}/courses", world.admin_a.headers),
        ("POST", f"/organisations/{world.org_a}/enrolments", world.admin_a.headers),
        (
            "PUT",
            f"{enrolment}/answers/{world.questions['free_text']['question_id']}",
            world.learner_a.headers,
        ),
    ]


# --- malformed and wrongly shaped bodies: 400 / 422 ----------------------------------------


@pytest.mark.parametrize(
    "content",
    [b'{"title": "Broken', b"not json at all", b'{"title": "x",}', b'{"title": "\xff\xfe"}'],
)
async def test_malformed_json_is_400_on_every_body_route(world: World, content: bytes) -> None:
    for method, url, headers in _body_routes(world):
        problem = await world.refused(
            400,
            lambda method=method, url=url, headers=headers: world.http.request(
                method, url, content=content, headers={**headers, **JSON}
            ),
        )
        assert "Broken" not in str(problem)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"[]", "application/json"),
        (b'"a string"', "application/json"),
        (b"null", "application/json"),
        (b"", "application/json"),
        (b"title=Broken", "application/x-www-form-urlencoded"),
    ],
)
async def test_a_body_of_the_wrong_shape_is_422_on_every_body_route(
    world: World, content: bytes, content_type: str
) -> None:
    for method, url, headers in _body_routes(world):
        await world.refused(
            422,
            lambda method=method, url=url, headers=headers: world.http.request(
                method, url, content=content, headers={**headers, "Content-Type": content_type}
            ),
        )


def _invalid_bodies(world: World) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """(method, url, headers, body): wrong types, unknown fields, oversize strings, control
    characters, each refused by validation (422)."""
    draft = f"/courses/{world.draft_course_id}/draft"
    staff, admin = world.staff, world.admin_a.headers
    version = {**staff, "If-Match": '"1"'}
    assign = f"/organisations/{world.org_a}/courses"
    enrol = f"/organisations/{world.org_a}/enrolments"
    question = world.questions["free_text"]
    answer = f"/me/enrolments/{world.enrolment_id}/answers/{question['question_id']}"
    learner = world.learner_a.headers
    choice = world.questions["single_choice"]
    choice_answer = f"/me/enrolments/{world.enrolment_id}/answers/{choice['question_id']}"

    def with_question(**changes: Any) -> dict[str, Any]:
        body = course_body()
        body["modules"][0]["questions"][0].update(changes)
        return body

    return [
        # wrong types
        ("POST", "/courses", staff, {**course_body(), "title": 123}),
        ("POST", "/courses", staff, {**course_body(), "modules": "Modul 1"}),
        ("POST", "/courses", staff, with_question(kind="essay")),
        ("POST", "/courses", staff, with_question(required="sometimes")),
        ("PUT", draft, version, {**course_body(), "modules": [{"title": ["x"]}]}),
        ("POST", assign, admin, {"course_id": "not-a-uuid"}),
        ("POST", assign, admin, {"course_id": 5}),
        ("POST", enrol, admin, {"user_id": "me", "course_id": world.course_id}),
        ("PUT", answer, learner, {"text": 5}),
        ("PUT", choice_answer, learner, {"selected_option_ids": "the first"}),
        ("PUT", choice_answer, learner, {"scale_value": "high"}),
        # unknown fields
        ("POST", "/courses", staff, {**course_body(), "owner": "someone"}),
        ("PUT", draft, version, {**course_body(), "published": True}),
        ("POST", assign, admin, {"course_id": world.course_id, "organisation_id": world.org_b}),
        ("PUT", answer, learner, {"text": "Et svar", "score": 10}),
        # missing fields
        ("POST", "/courses", staff, {"description": "no title"}),
        ("POST", enrol, admin, {"course_id": world.course_id}),
        # oversize strings and lists
        ("POST", "/courses", staff, course_body(title="T" * 201)),
        ("POST", "/courses", staff, {**course_body(), "description": "D" * 5001}),
        ("PUT", draft, version, with_question(prompt="P" * 2001)),
        ("POST", "/courses", staff, with_question(max_length=10**9)),
        ("PUT", answer, learner, {"text": "A" * 50_000}),
        ("PUT", answer, learner, {"text": "A" * (int(question["max_length"]) + 1)}),
        ("PUT", choice_answer, learner, {"selected_option_ids": [str(uuid.uuid4())] * 51}),
        # out of range numbers
        ("POST", "/courses", staff, with_question(kind="scale", scale={"low": 1, "high": 10**12})),
        ("PUT", choice_answer, learner, {"scale_value": 10**30}),
        # control characters (NUL above all, which PostgreSQL cannot store)
        ("POST", "/courses", staff, course_body(title=f"Evil{NUL} kurs")),
        ("PUT", draft, version, with_question(prompt=f"Spørsmål{NUL}")),
        ("POST", "/courses", staff, with_question(options=[{"label": "A\u0007"}, {"label": "B"}])),
        ("PUT", answer, learner, {"text": f"Svar med {NUL} i"}),
        ("PUT", answer, learner, {"text": "Svar med \u001b[31m farge"}),
        # does not fit the question (domain rule: still a 422)
        ("PUT", answer, learner, {"scale_value": 3}),
        ("PUT", choice_answer, learner, {"selected_option_ids": [str(uuid.uuid4())]}),
        ("PUT", choice_answer, learner, {}),
    ]


async def test_invalid_bodies_are_422_and_write_nothing(world: World) -> None:
    for method, url, headers, body in _invalid_bodies(world):
        echoed = [
            value
            for value in (body.get("title"), body.get("text"), body.get("description"))
            if isinstance(value, str) and len(value) > 3
        ]
        await world.refused(
            422,
            lambda method=method, url=url, headers=headers, body=body: world.http.request(
                method, url, json=body, headers=headers
            ),
            not_echoed=tuple(echoed),
        )


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=1001",
        "limit=many",
        "offset=-1",
        "version=0",
        "version=2147483648",  # over PostgreSQL's integer: once a 500
        "offset=9223372036854775808",  # over its bigint: once a 500
        "organisation_id=nope",
        "question_id=%00",
    ],
)
async def test_invalid_answer_filters_are_422_for_staff(world: World, query: str) -> None:
    url = f"/courses/{world.course_id}/answers?{query}"
    await world.refused(422, lambda: world.http.get(url, headers=world.staff))


async def test_invalid_path_ids_are_422(world: World) -> None:
    staff, learner = world.staff, world.learner_a.headers
    sends: list[Send] = [
        lambda: world.http.get("/courses/not-a-uuid", headers=staff),
        lambda: world.http.get(f"/courses/{world.course_id}/versions/0", headers=staff),
        lambda: world.http.get(f"/courses/{world.course_id}/versions/99999999999", headers=staff),
        lambda: world.http.get("/me/enrolments/%00", headers=learner),
        lambda: world.http.get("/organisations/x'--/courses", headers=staff),
    ]
    for send in sends:
        await world.refused(422, send)


# --- unknown ids: 404 ---------------------------------------------------------------------


async def test_unknown_ids_are_404(world: World) -> None:
    unknown = str(uuid.uuid4())
    staff, learner, admin = world.staff, world.learner_a.headers, world.admin_a.headers
    enrolment = f"/me/enrolments/{world.enrolment_id}"
    sends: list[Send] = [
        lambda: world.http.get(f"/courses/{unknown}", headers=staff),
        lambda: world.http.put(
            f"/courses/{unknown}/draft",
            json=course_body(),
            headers={**staff, "If-Match": '"1"'},
        ),
        lambda: world.http.post(f"/courses/{unknown}/publish", headers=staff),
        lambda: world.http.get(f"/courses/{unknown}/versions/1", headers=staff),
        lambda: world.http.get(f"/courses/{world.course_id}/versions/99", headers=staff),
        # A course never published is not there for anyone but staff.
        lambda: world.http.get(f"/courses/{world.draft_course_id}", headers=learner),
        lambda: world.http.post(
            f"/organisations/{world.org_a}/courses", json={"course_id": unknown}, headers=admin
        ),
        lambda: world.http.post(
            f"/organisations/{world.org_a}/enrolments",
            json={"user_id": unknown, "course_id": world.course_id},
            headers=admin,
        ),
        lambda: world.http.get(f"/me/enrolments/{unknown}", headers=learner),
        lambda: world.http.get(f"/me/enrolments/{unknown}/answers", headers=learner),
        lambda: world.http.put(
            f"/me/enrolments/{unknown}/answers/{unknown}", json={"text": "Svar"}, headers=learner
        ),
        lambda: world.http.put(
            f"{enrolment}/answers/{unknown}", json={"text": "Svar"}, headers=learner
        ),
        lambda: world.http.post(f"/me/enrolments/{unknown}/complete", headers=learner),
        lambda: world.http.get(f"/enrolments/{unknown}/answers", headers=staff),
        lambda: world.http.get(f"/courses/{unknown}/answers", headers=staff),
        lambda: world.http.get("/nope", headers=staff),
    ]
    for send in sends:
        await world.refused(404, send)


# --- tokens: 401 --------------------------------------------------------------------------


def _token_routes(world: World) -> list[tuple[str, str, dict[str, Any] | None]]:
    enrolment = f"/me/enrolments/{world.enrolment_id}"
    question = world.questions["free_text"]["question_id"]
    return [
        ("POST", "/courses", course_body()),
        ("GET", "/courses", None),
        ("GET", f"/courses/{world.course_id}", None),
        ("POST", f"/courses/{world.draft_course_id}/publish", None),
        ("POST", f"/organisations/{world.org_a}/courses", {"course_id": world.course_id}),
        ("GET", f"/organisations/{world.org_a}/enrolments", None),
        ("PUT", f"{enrolment}/answers/{question}", {"text": "Et svar"}),
        ("GET", f"/enrolments/{world.enrolment_id}/answers", None),
        ("GET", f"/courses/{world.course_id}/answers", None),
    ]


async def test_no_token_or_another_scheme_is_401(world: World) -> None:
    for method, url, body in _token_routes(world):
        for headers in ({}, {"Authorization": "Basic eDp5"}, {"Authorization": "Bearer"}):
            await world.refused(
                401,
                lambda method=method, url=url, body=body, headers=headers: world.http.request(
                    method, url, json=body, headers=headers
                ),
            )


@pytest.mark.parametrize(
    "kind",
    ["expired", "wrong_audience", "wrong_issuer", "other_key", "signature_stripped", "garbage"],
)
async def test_a_bad_staff_token_is_401(world: World, kind: str) -> None:
    token = world.tokens.refused_kinds("platform_staff")[kind]
    headers = {"Authorization": f"Bearer {token}"}
    for method, url, body in _token_routes(world):
        response = await world.refused(
            401,
            lambda method=method, url=url, body=body: world.http.request(
                method, url, json=body, headers=headers
            ),
            not_echoed=(token,),
        )
        assert response["status"] == 401


async def test_a_token_signed_with_the_session_key_is_accepted(world: World) -> None:
    """The control of the 401s above: a token we sign ourselves is valid."""
    response = await world.http.get("/courses", headers=world.tokens.headers("platform_staff"))
    assert response.status_code == 200, response.text


# --- wrong roles: 403 ---------------------------------------------------------------------


async def test_org_admins_and_contact_persons_get_403_from_answer_routes(world: World) -> None:
    """R4 through the real process: whatever they send, their own organisation included."""
    both = world.tokens.headers("org_admin", "contact_person", organisation_id=world.org_a)
    callers = {
        "org_admin": world.admin_a.headers,
        "contact_person": world.contact_a.headers,
        "both": both,
        "other_admin": world.admin_b.headers,
    }
    question = world.questions["free_text"]["question_id"]
    urls = [
        f"/enrolments/{world.enrolment_id}/answers",
        f"/enrolments/{uuid.uuid4()}/answers",
        "/enrolments/not-a-uuid/answers",
        f"/courses/{world.course_id}/answers",
        f"/courses/{world.course_id}/answers?organisation_id={world.org_a}&question_id={question}",
        f"/courses/{world.course_id}/answers?version=1&limit=1000&offset=0",
        f"/courses/{world.course_id}/answers?limit=-5&version=zero",
        f"/courses/{uuid.uuid4()}/answers",
    ]
    for name, headers in callers.items():
        for url in urls:
            problem = await world.refused(
                403, lambda url=url, headers=headers: world.http.get(url, headers=headers)
            )
            assert problem["type"].endswith("/answers-forbidden"), (name, url, problem)
    # The control: staff read the same answers.
    response = await world.http.get(
        f"/enrolments/{world.enrolment_id}/answers", headers=world.staff
    )
    assert response.status_code == 200, response.text


async def test_a_role_that_may_not_act_gets_403(world: World) -> None:
    learner, admin, contact = (
        world.learner_a.headers,
        world.admin_a.headers,
        world.contact_a.headers,
    )
    draft = f"/courses/{world.draft_course_id}"
    sends: list[Send] = [
        # Only platform staff edit the catalogue.
        lambda: world.http.post("/courses", json=course_body(), headers=admin),
        lambda: world.http.post("/courses", json=course_body(), headers=learner),
        lambda: world.http.put(
            f"{draft}/draft", json=course_body(), headers={**admin, "If-Match": '"1"'}
        ),
        lambda: world.http.post(f"{draft}/publish", headers=contact),
        # A learner or a contact person does not decide who gets which course (R7).
        lambda: world.http.post(
            f"/organisations/{world.org_a}/courses",
            json={"course_id": world.course_id},
            headers=learner,
        ),
        lambda: world.http.post(
            f"/organisations/{world.org_a}/enrolments",
            json={"user_id": world.learner_a.user_id, "course_id": world.course_id},
            headers=contact,
        ),
        lambda: world.http.get(f"/organisations/{world.org_a}/enrolments", headers=learner),
    ]
    for send in sends:
        await world.refused(403, send)


# --- another tenant: 404, indistinguishable from a missing id -----------------------------


def _comparable(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in problem.items() if k not in ("instance", "request_id")}


async def test_another_tenants_ids_answer_like_missing_ones(world: World) -> None:
    admin_b = world.admin_b.headers
    probes: list[tuple[Callable[[str], Awaitable[httpx.Response]], str]] = [
        (lambda org: world.http.get(f"/organisations/{org}/courses", headers=admin_b), world.org_a),
        (
            lambda org: world.http.get(f"/organisations/{org}/enrolments", headers=admin_b),
            world.org_a,
        ),
        (
            lambda org: world.http.post(
                f"/organisations/{org}/courses",
                json={"course_id": world.course_id},
                headers=admin_b,
            ),
            world.org_a,
        ),
        (
            lambda org: world.http.post(
                f"/organisations/{org}/enrolments",
                json={"user_id": world.learner_a.user_id, "course_id": world.course_id},
                headers=admin_b,
            ),
            world.org_a,
        ),
        # Another person's enrolment is not there for the caller, whoever they are.
        (
            lambda enrolment: world.http.get(f"/me/enrolments/{enrolment}", headers=admin_b),
            world.enrolment_id,
        ),
        (
            lambda enrolment: world.http.put(
                f"/me/enrolments/{enrolment}/answers/{world.questions['scale']['question_id']}",
                json={"scale_value": 2},
                headers=world.admin_a.headers,
            ),
            world.enrolment_id,
        ),
        (
            lambda enrolment: world.http.post(
                f"/me/enrolments/{enrolment}/complete", headers=world.contact_a.headers
            ),
            world.enrolment_id,
        ),
    ]
    for send, foreign in probes:
        other_tenant = await world.refused(404, lambda send=send, foreign=foreign: send(foreign))
        nowhere = await world.refused(404, lambda send=send: send(str(uuid.uuid4())))
        assert _comparable(other_tenant) == _comparable(nowhere)


# --- If-Match: 428 / 409 / 400 ------------------------------------------------------------


async def test_a_draft_edit_without_if_match_is_428(world: World) -> None:
    url = f"/courses/{world.draft_course_id}/draft"
    await world.refused(428, lambda: world.http.put(url, json=course_body(), headers=world.staff))


async def test_a_stale_if_match_is_409(world: World) -> None:
    course_id = await _created(world.http, world.staff)
    current = await world.version_of(course_id)
    revised = await world.http.put(
        f"/courses/{course_id}/draft",
        json=course_body(),
        headers={**world.staff, "If-Match": f'"{current}"'},
    )
    assert revised.status_code == 200, revised.text
    stale = {**world.staff, "If-Match": f'"{current}"'}
    await world.refused(
        409,
        lambda: world.http.put(f"/courses/{course_id}/draft", json=course_body(), headers=stale),
    )
    await world.refused(
        409, lambda: world.http.post(f"/courses/{course_id}/publish", headers=stale)
    )


@pytest.mark.parametrize(
    "if_match",
    [b"*", b'"abc"', b'"-1"', b'"1", "2"', b'"\xb2"', b"\xb9", b'"' + b"9" * 5000 + b'"'],
)
async def test_a_malformed_if_match_is_400(world: World, if_match: bytes) -> None:
    """ "\\xb2" is "²" once decoded as latin-1: str.isdigit() says yes, int() says no (was 500)."""
    url = f"/courses/{world.draft_course_id}"
    authorization = world.staff["Authorization"].encode()
    headers = [(b"authorization", authorization), (b"if-match", if_match)]
    await world.refused(
        400, lambda: world.http.put(f"{url}/draft", json=course_body(), headers=headers)
    )
    await world.refused(400, lambda: world.http.post(f"{url}/publish", headers=headers))
