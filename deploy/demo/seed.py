"""Fill the running platform with a demo organisation, through the gateway and the real APIs.

    uv run --no-sync python deploy/demo/seed.py [--if-empty] [--learners 60] [--seed 2024]

What it makes (docs/runbook.md, "Demo data"): a platform-staff account (once), the current
privacy-policy version when there is none, the demo courses (once, published, every question
kind), and on every run a fresh organisation with an administrator, a contact person and
`--learners` learners who accept the terms and get a licence; courses enrols them (from
`LicenceGranted` on Kafka), most answer with a seeded spread (content.py), some complete.
`--if-empty` (used by `make up`) does nothing when a course exists already.

The random draws are seeded by `--seed` and the run number, so run N of a fresh platform gives
the same people and answers every time. Nothing personal is printed: counts, ids, the staff
login e-mail and the files holding the passwords.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
from content import COURSES, draw_answer, habits
from courses_api import CoursesApi
from gateway import DEFAULT_GATEWAY, Gateway, SeedFailed
from organisation import DemoOrganisation, Onboarding, Person
from staff import staff_login

ROOT = Path(__file__).resolve().parents[2]
DEMO_STATE = ROOT / ".run" / "demo"
PEOPLE_PASSWORD_FILE = ROOT / ".run" / "secrets" / "demo-people-password"
DEMO_POLICY_VERSION = "2024-1"
DEMO_POLICY_TEXT = (
    "Personvernerklæring for ByggRygg (demo).\n\n"
    "Life Improvement AS behandler personopplysninger på vegne av kunden (databehandler)."
)


def _next_run() -> int:
    """The demo run number, kept in .run/demo/runs (1 on a fresh platform)."""
    DEMO_STATE.mkdir(parents=True, exist_ok=True)
    counter = DEMO_STATE / "runs"
    run = int(counter.read_text(encoding="utf-8").strip() or "0") + 1 if counter.exists() else 1
    counter.write_text(f"{run}\n", encoding="utf-8")
    return run


def _people_password() -> str:
    """One password for every demo person (kept, so people can log in as any of them)."""
    if PEOPLE_PASSWORD_FILE.is_file():
        return PEOPLE_PASSWORD_FILE.read_text(encoding="utf-8").strip()
    password = secrets.token_urlsafe(18)
    PEOPLE_PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(PEOPLE_PASSWORD_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(password + "\n")
    return password


async def _ensure_policy(gateway: Gateway, staff_token: str) -> str:
    """The current privacy-policy version; publishes the demo's when none is in effect (R20)."""
    current = await gateway.call(
        "GET", "consent", "/policies/current", expect=(200, 404), token=None
    )
    if current is not None and "version" in current:
        return str(current["version"])
    published = await gateway.call(
        "POST",
        "consent",
        "/policies",
        token=staff_token,
        json={
            "version": DEMO_POLICY_VERSION,
            "effective_on": datetime.now(UTC).date().isoformat(),
            "text": DEMO_POLICY_TEXT,
        },
    )
    return str(published["version"])


async def _onboard(onboarding: Onboarding, api: CoursesApi, learners: int) -> DemoOrganisation:
    organisation = await onboarding.register_organisation()
    organisation_id = str(organisation["organisation_id"])
    # Assigned before the licences: each LicenceGranted then enrols the learner.
    await api.assign_all(organisation_id)
    admin = await onboarding.list_person(organisation_id, "admins", "admin")
    contact = await onboarding.list_person(organisation_id, "contact-persons", "contact")
    people: list[Person] = []
    licences: dict[str, str] = {}
    for number in range(1, learners + 1):
        if number % 20 == 0:
            await admin.refresh(onboarding.gateway)
        learner = await onboarding.add_learner(organisation_id, admin, number)
        licences[learner.user_id] = await onboarding.grant_licence(admin, learner)
        people.append(learner)
    return DemoOrganisation(
        organisation_id=organisation_id,
        name=str(organisation["name"]),
        admin=admin,
        contact_person=contact,
        learners=people,
        licences=licences,
    )


async def _take_courses(
    api: CoursesApi, organisation: DemoOrganisation, rng: random.Random
) -> Counter[str]:
    """Each learner answers the demo courses as their habits say; returns what was done."""
    done: Counter[str] = Counter()
    for learner in organisation.learners:
        who = habits(rng)
        await learner.refresh(api.gateway)
        enrolments = await api.wait_for_enrolments(learner)
        done["enrolments"] += len(enrolments)
        if not who.takes_part:
            continue
        done["learners who answered"] += 1
        for course in api.courses:
            enrolment_id = enrolments[course.course_id]
            questions = course.definition.questions
            # Those who do not finish stop somewhere after the first question.
            stop_at = len(questions) if who.finishes else rng.randint(1, len(questions) - 1)
            for index, question in enumerate(questions[:stop_at]):
                drawn = draw_answer(question, who, rng)
                if drawn is None:
                    continue
                await api.answer(learner, enrolment_id, course, index, drawn)
                done[f"answers ({question.kind})"] += 1
            if who.finishes:
                await api.complete(learner, enrolment_id)
                done["completions"] += 1
    return done


async def seed(args: argparse.Namespace) -> int:
    async with httpx.AsyncClient(base_url=args.gateway, timeout=60.0) as http:
        gateway = Gateway(http)
        staff_token, staff_email, password_file = await staff_login(gateway, ROOT)
        api = CoursesApi(gateway, staff_token)
        if args.if_empty and await api.any_course():
            print("demo: courses exist already, nothing seeded ('make demo' adds an organisation)")
            return 0
        policy_version = await _ensure_policy(gateway, staff_token)
        created_courses = await api.ensure_courses(COURSES)
        run = _next_run()
        rng = random.Random(f"{args.seed}:{run}")
        onboarding = Onboarding(
            gateway, staff_token=staff_token, rng=rng, run=run, password=_people_password()
        )
        organisation = await _onboard(onboarding, api, args.learners)
        done = await _take_courses(api, organisation, rng)

    print(f"demo run {run}: organisation '{organisation.name}' ({organisation.organisation_id})")
    print(f"  courses: {len(api.courses)} published ({created_courses} new this run)")
    print(f"  privacy policy in effect: {policy_version}")
    learners, licences = len(organisation.learners), len(organisation.licences)
    print(f"  people: 1 administrator, 1 contact person, {learners} learners, {licences} licences")
    for what, count in sorted(done.items()):
        print(f"  {what}: {count}")
    print(f"  platform staff login: {staff_email} (password in {password_file.relative_to(ROOT)})")
    print(
        f"  demo people log in as learner001.run{run}@..., admin.run{run}@..., "
        f"contact.run{run}@... (password in {PEOPLE_PASSWORD_FILE.relative_to(ROOT)})"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Seed the demo organisation through the APIs.")
    parser.add_argument("--if-empty", action="store_true", help="only when no course exists")
    parser.add_argument("--learners", type=int, default=60)
    parser.add_argument("--seed", default="2024", help="seed of the random draws")
    parser.add_argument(
        "--gateway", default=os.environ.get("BYGGRYGG_GATEWAY_URL", DEFAULT_GATEWAY)
    )
    args = parser.parse_args(argv)
    try:
        return asyncio.run(seed(args))
    except (SeedFailed, httpx.TransportError) as error:
        print(f"demo: FAILED: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
