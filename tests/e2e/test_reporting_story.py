"""Reporting in the running platform (issue 6): a learner's answers given through courses'
API reach reporting's read models over Kafka (linked, free text only as a key-ring token);
an erasure filed with the orchestrator gets reporting's reply, and afterwards the answers
are still counted but nothing in reporting links them to the person."""

from __future__ import annotations

from typing import Any

import asyncpg

from .privacy_story import PrivacyStory, eventually


async def _rows(database_url: str, sql: str, *args: object) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(database_url)
    try:
        return [dict(row) for row in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def test_answers_reach_reporting_and_an_erasure_unlinks_them(
    privacy_story: PrivacyStory,
) -> None:
    person = await privacy_story.learner_with_data()
    reporting_db = privacy_story.platform["reporting"].database_url
    enrolment_sql = "SELECT subject_ref, unlinked FROM enrolments WHERE enrolment_id = $1::uuid"
    answers_sql = (
        "SELECT kind, scale_value, free_text_token FROM answers "
        "WHERE enrolment_id = $1::uuid ORDER BY kind"
    )

    async def projected() -> list[dict[str, Any]] | None:
        answers = await _rows(reporting_db, answers_sql, person.enrolment_id)
        return answers if len(answers) == 2 else None

    answers = await eventually(projected, what="reporting projects the learner's answers")
    free_text, scale = answers
    assert scale["scale_value"] == 4
    assert str(free_text["free_text_token"]).startswith("enc:v1:")
    assert person.member.name not in str(free_text["free_text_token"])
    assert await _rows(reporting_db, enrolment_sql, person.enrolment_id) == [
        {"subject_ref": person.subject_ref, "unlinked": False}
    ]

    request = await privacy_story.file("erasure", person.subject_ref)
    view = await privacy_story.ended(str(request["request_id"]))
    assert view["state"] == "completed", view
    assert view["participants"]["reporting"]["replied"], view

    # The answers stay for the statistics (R4), anonymous: the link and the free text are gone.
    assert await _rows(reporting_db, enrolment_sql, person.enrolment_id) == [
        {"subject_ref": None, "unlinked": True}
    ]
    after = await _rows(reporting_db, answers_sql, person.enrolment_id)
    assert [(a["kind"], a["scale_value"], a["free_text_token"]) for a in after] == [
        ("free_text", None, None),
        ("scale", 4, None),
    ]
