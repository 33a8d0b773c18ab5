"""The personal-data scanner (tests/pii_scan.py) finds planted identifiers exactly where they are.

On real PostgreSQL and Kafka, with a database and topics of each test's own: identifiers
planted in a text column, a jsonb column, a bytea column, a Kafka record's key, value and
header, a log line and a stored mail are reported with their exact places; key-ring tokens of
the same identifiers are not; phone numbers match in any format; a name inside another word
does not; SQL's special characters in identifiers are parameters, never SQL. On the real
services (the `platform` fixture): a new user's identity projections are hits, Kafka and the
logs hold no plaintext. That is the baseline issue 5's erasure test turns into "no hits".
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer, ConsumerRecord

from byggrygg_shared.contracts.identity import USER_TOPIC
from byggrygg_shared.keyring import KeyRing, is_token
from byggrygg_shared.keyring_schema import migrate_keyring

from ..identity_client import IdentityApi, Member
from ..pii_scan import (
    ROOT,
    DatabaseHit,
    Identifiers,
    LogHit,
    MailHit,
    ScanReport,
    Targets,
    TopicHit,
    phone_needle,
    platform_topics,
    scan,
)
from ..platform_processes import Platform
from ..topic_tail import TopicTail, headers_of

RECORD_DEADLINE_S = 60.0
USER_CREATED = b"no.byggrygg.identity.UserCreated.v1"


def _letters() -> str:
    # Consonants only: never a real word, never inside base64 by chance as a whole word.
    return "".join("bcdfghjklmnpqrstvwxz"[b % 20] for b in uuid.uuid4().bytes[:8]).capitalize()


def _person() -> tuple[str, str, str]:
    """A unique (name, e-mail, phone) with letters outside ASCII in the name."""
    tail = _letters()
    return (
        f"Åse Øvrebø{tail}",
        f"ase.{tail.lower()}_x@scan.example.no",
        f"+47 9{uuid.uuid4().int % 10} {uuid.uuid4().int % 90 + 10} {uuid.uuid4().int % 900 + 100}",
    )


def _places(report: ScanReport) -> set[tuple[object, ...]]:
    """Every hit as a tuple of its fields (without `source`), for exact comparisons."""
    places: set[tuple[object, ...]] = set()
    for hit in report.hits:
        if isinstance(hit, DatabaseHit):
            places.add((hit.table, hit.column, hit.row, hit.kind))
        elif isinstance(hit, TopicHit):
            places.add((hit.topic, hit.partition, hit.offset, hit.where, hit.kind))
        elif isinstance(hit, LogHit):
            places.add((Path(hit.file).name, hit.line, hit.kind))
        else:
            places.add((Path(hit.file).name, hit.where, hit.kind))
    return places


@pytest_asyncio.fixture(loop_scope="session")
async def keyring(fresh_database: str) -> AsyncIterator[KeyRing]:
    """A real key ring, its tables in the test's own database (so the scan reads them too)."""
    await migrate_keyring(fresh_database)
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        yield KeyRing(pool, bytes(range(32)))
    finally:
        await pool.close()


async def _execute(dsn: str, *statements: str, rows: list[tuple[str, list[object]]]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
        for query, values in rows:
            await conn.execute(query, *values)
    finally:
        await conn.close()


async def test_identifiers_in_text_jsonb_bytea_and_array_columns_are_found_with_their_rows(
    fresh_database: str, keyring: KeyRing
) -> None:
    name, email, phone = _person()
    tokens = [await keyring.encrypt("subj_planted", value) for value in (name, email, phone)]
    assert all(is_token(token) for token in tokens)
    await _execute(
        fresh_database,
        "CREATE TABLE people (id int PRIMARY KEY, note text, doc jsonb, raw bytea, tags text[])",
        "CREATE TABLE audit (line varchar(500))",  # no primary key: reported by ctid
        rows=[
            (
                "INSERT INTO people VALUES ($1, $2, $3::jsonb, $4, $5)",
                [1, f"Kontakt: {name}, tlf. 9x", json.dumps({"email": email}), None, None],
            ),
            (
                "INSERT INTO people VALUES ($1, $2, $3::jsonb, $4, $5)",
                # JSON written with ensure_ascii: the name comes back as \u00c5se \u00d8...
                [2, None, json.dumps({"who": {"name": name}}), phone.encode(), ["x", email]],
            ),
            (
                "INSERT INTO people VALUES ($1, $2, $3::jsonb, $4, $5)",
                # Ciphertext only: never a hit.
                [3, tokens[0], json.dumps({"email": tokens[1]}), tokens[2].encode(), tokens],
            ),
            ("INSERT INTO audit VALUES ($1)", ["nothing here"]),
            ("INSERT INTO audit VALUES ($1)", [f"sent to {email.upper()}"]),
        ],
    )

    report = await scan(
        Identifiers(names=(name,), emails=(email,), phones=(phone,)),
        Targets(databases=(fresh_database,)),
    )

    assert _places(report) == {
        ("people", "note", (("id", "1"),), "name"),
        ("people", "doc", (("id", "1"),), "email"),
        ("people", "doc", (("id", "2"),), "name"),
        ("people", "raw", (("id", "2"),), "phone"),
        ("people", "tags", (("id", "2"),), "email"),
        ("audit", "line", (("ctid", "(0,2)"),), "email"),
    }
    database = fresh_database.rsplit("/", 1)[1]
    assert {hit.database for hit in report.hits if isinstance(hit, DatabaseHit)} == {database}
    # The key ring's own tables (wrapped keys as bytea) were read too, and hold nothing.
    assert report.coverage.tables == 4
    assert report.coverage.databases == 1


async def _produce(
    bootstrap: str,
    topic: str,
    records: list[tuple[int, bytes | None, bytes, list[tuple[str, bytes]]]],
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for partition, key, value, headers in records:
            await producer.send_and_wait(
                topic, value, key=key, partition=partition, headers=headers
            )
    finally:
        await producer.stop()


async def test_identifiers_in_kafka_keys_values_and_headers_are_found_with_their_offsets(
    kafka_bootstrap: str, new_topic: Any, keyring: KeyRing
) -> None:
    name, email, phone = _person()
    topic = await new_topic("pii-scan", partitions=2)
    token = await keyring.encrypt("subj_planted", email)
    await _produce(
        kafka_bootstrap,
        topic,
        [
            (0, b"k-0", json.dumps({"email": email}).encode(), []),  # p0 offset 0: value
            (0, b"k-1", json.dumps({"email": token}).encode(), [("ce_subject", b"subj_1")]),
            (1, None, b"{}", [("x-contact", phone.replace(" ", "").encode())]),  # p1 0: header
            (1, name.encode(), b"{}", [("ce_type", b"Something")]),  # p1 offset 1: key
            (1, b"k", json.dumps({"name": name + "anne"}).encode(), []),  # another word
        ],
    )

    report = await scan(
        Identifiers(names=(name,), emails=(email,), phones=(phone,)),
        Targets(kafka_bootstrap=kafka_bootstrap, topics=(topic,)),
    )

    assert _places(report) == {
        (topic, 0, 0, "value", "email"),
        (topic, 1, 0, "header x-contact", "phone"),
        (topic, 1, 1, "key", "name"),
    }
    assert report.coverage.records == 5
    assert report.coverage.topics == 1


async def test_identifiers_in_log_lines_are_found_with_their_line_numbers(
    tmp_path: Path, keyring: KeyRing
) -> None:
    name, email, phone = _person()
    token = await keyring.encrypt("subj_planted", name)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "service.log").write_text(
        "started\n"
        f"INFO created user {token}\n"
        f"WARNING could not send to {email}\n"
        "INFO ok\n"
        f'127.0.0.1 - "GET /users?name={quote_plus(name)} HTTP/1.1" 200\n',
        encoding="utf-8",
    )
    (logs / "other.log").write_bytes(b"\xff\xfe not utf-8\n" + phone.encode() + b"\n")
    (logs / "ignored.txt").write_text(email, encoding="utf-8")  # not a *.log in the folder

    report = await scan(
        Identifiers(names=(name,), emails=(email,), phones=(phone,)),
        Targets(logs=(logs,)),
    )

    assert _places(report) == {
        ("service.log", 3, "email"),
        ("service.log", 5, "name"),
        ("other.log", 2, "phone"),
    }
    assert report.coverage.log_files == 2


async def test_key_ring_tokens_of_the_identifiers_are_never_hits(
    fresh_database: str,
    kafka_bootstrap: str,
    new_topic: Any,
    keyring: KeyRing,
    tmp_path: Path,
) -> None:
    name, email, phone = _person()
    tokens = {
        value: await keyring.encrypt("subj_only_ciphertext", value)
        for value in (name, email, phone)
    }
    topic = await new_topic("pii-scan-tokens")
    await _execute(
        fresh_database,
        "CREATE TABLE events (id bigint PRIMARY KEY, payload jsonb, raw bytea)",
        rows=[
            (
                "INSERT INTO events VALUES ($1, $2::jsonb, $3)",
                [i, json.dumps({"value": token}), token.encode()],
            )
            for i, token in enumerate(tokens.values())
        ],
    )
    await _produce(
        kafka_bootstrap,
        topic,
        [
            (0, None, json.dumps(list(tokens.values())).encode(), [("x", token.encode())])
            for token in tokens.values()
        ],
    )
    log = tmp_path / "tokens.log"
    log.write_text("\n".join(tokens.values()), encoding="utf-8")

    report = await scan(
        Identifiers(names=(name,), emails=(email,), phones=(phone,)),
        Targets(
            databases=(fresh_database,),
            kafka_bootstrap=kafka_bootstrap,
            topics=(topic,),
            logs=(log,),
        ),
    )

    assert report.hits == []
    assert report.coverage.records == 3
    assert report.coverage.log_lines == 3
    # The key ring's tables and the events table were read.
    assert report.coverage.tables == 3


@pytest.mark.parametrize(
    "text",
    [
        "+47 912 34 567",
        "91234567",
        "+4791234567",
        "4791234567",
        "0047 91 23 45 67",
        "912-34-567",
        "912.34.567",
        "tlf:91 23 45 67.",
        '{"phone": "91\\u00a023\\u00a045\\u00a067"}',
        "/sms?to=%2B47%2091234567",
    ],
)
@pytest.mark.parametrize("given", ["+47 912 34 567", "91234567", "0047 91 23 45 67"])
def test_a_phone_number_matches_in_any_format(text: str, given: str) -> None:
    assert phone_needle(given).found_in(text)


@pytest.mark.parametrize("text", ["191234567", "912345670", "9123456", "47912345678"])
def test_longer_or_shorter_digit_runs_are_not_the_phone_number(text: str) -> None:
    assert not phone_needle("+47 912 34 567").found_in(text)


async def test_phone_formats_are_found_by_the_database_filter_too(fresh_database: str) -> None:
    formats = ["+47 912 34 567", "91234567", "+4791234567", "0047 91 23 45 67", "912-34-567"]
    await _execute(
        fresh_database,
        "CREATE TABLE contacts (id int PRIMARY KEY, phone text, raw bytea)",
        rows=[
            ("INSERT INTO contacts VALUES ($1, $2, $3)", [i, text, f"tlf.\u00a0{text}".encode()])
            for i, text in enumerate(formats)
        ]
        + [("INSERT INTO contacts VALUES ($1, $2, $3)", [99, "191234567", b"9123456"])],
    )

    report = await scan(Identifiers(phones=("91234567",)), Targets(databases=(fresh_database,)))

    assert _places(report) == {
        ("contacts", column, (("id", str(i)),), "phone")
        for i in range(len(formats))
        for column in ("phone", "raw")
    }


async def test_a_name_is_found_only_as_whole_words(fresh_database: str, tmp_path: Path) -> None:
    await _execute(
        fresh_database,
        "CREATE TABLE notes (id int PRIMARY KEY, body text)",
        rows=[
            ("INSERT INTO notes VALUES ($1, $2)", [i, text])
            for i, text in enumerate(
                [
                    "Karianne Nordmannsen ringte",  # 0: inside other words
                    "KARI   NORDMANN ringte",  # 1: other case, other spacing
                    "hilsen kari\nnordmann",  # 2: across a line break
                    "Kari Nordmann-Hansen",  # 3: a hyphen ends a word
                    "AKari Nordmann",  # 4: inside another word
                    "Kari_Nordmann",  # 5: joined by a word character
                ]
            )
        ],
    )

    report = await scan(Identifiers(names=("Kari Nordmann",)), Targets(databases=(fresh_database,)))

    assert {hit.row for hit in report.hits if isinstance(hit, DatabaseHit)} == {
        (("id", "1"),),
        (("id", "2"),),
        (("id", "3"),),
    }


async def test_sql_special_characters_in_identifiers_are_data_not_sql(fresh_database: str) -> None:
    name = "O'Brien_%"
    email = "a_b%c'd@x.no"
    await _execute(
        fresh_database,
        'CREATE TABLE "we""ird table" (id int PRIMARY KEY, "na\'me" text)',
        rows=[
            ('INSERT INTO "we""ird table" VALUES ($1, $2)', [i, text])
            for i, text in enumerate(
                [
                    "O'Brien_% was here",  # 0: the name itself
                    "OXBrienX% was here",  # 1: would match if ' or _ were patterns
                    "O'BrienAB was here",  # 2: would match if % were a pattern
                    "mail a_b%c'd@x.no",  # 3: the address itself
                    "mail aXbYYc'd@x.no",  # 4: would match if _ and % were patterns
                ]
            )
        ],
    )

    report = await scan(
        Identifiers(names=(name,), emails=(email,)), Targets(databases=(fresh_database,))
    )

    assert _places(report) == {
        ('we"ird table', "na'me", (("id", "0"),), "name"),
        ('we"ird table', "na'me", (("id", "3"),), "email"),
    }
    conn = await asyncpg.connect(fresh_database)
    try:
        assert await conn.fetchval('SELECT count(*) FROM "we""ird table"') == 5
    finally:
        await conn.close()


async def test_mails_are_scanned_only_when_asked_and_decoded(tmp_path: Path) -> None:
    name, email, _phone = _person()
    maildir = tmp_path / "mail"
    (maildir / "new").mkdir(parents=True)
    message = EmailMessage()
    message["From"] = "no-reply@byggrygg.example"
    message["To"] = f"{name} <{email}>"  # RFC 2047-encoded on the wire: Åse Øvrebø...
    message["Subject"] = "Hei"
    message.set_content(f"Hei {name}!\n" + "æøå " * 40, cte="quoted-printable")
    (maildir / "new" / "1.eml").write_bytes(bytes(message))
    assert name.encode() not in bytes(message)  # only decoding finds the name

    without = await scan(Identifiers(names=(name,), emails=(email,)), Targets(logs=(tmp_path,)))
    assert without.hits == []

    report = await scan(Identifiers(names=(name,), emails=(email,)), Targets(maildirs=(maildir,)))

    assert all(isinstance(hit, MailHit) for hit in report.hits)
    assert _places(report) == {
        ("1.eml", "header To", "name"),
        ("1.eml", "header To", "email"),
        ("1.eml", "body part 1", "name"),
    }


async def _cli(*args: str) -> tuple[int, str, str]:
    """`python -m tests.pii_scan <args>` from the repository root: exit status, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.pii_scan",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_the_command_line_reports_hits_as_json_and_exits_1(
    fresh_database: str, tmp_path: Path
) -> None:
    name, email, phone = _person()
    await _execute(
        fresh_database,
        "CREATE TABLE people (id int PRIMARY KEY, email text)",
        rows=[("INSERT INTO people VALUES ($1, $2)", [7, email])],
    )
    log = tmp_path / "x.log"
    log.write_text(f"line one\ncalled {phone}\n", encoding="utf-8")
    common = ["--env-file", str(tmp_path / "none"), "--database", fresh_database, "--log", str(log)]

    status, out, err = await _cli(*common, "--email", email, "--phone", phone, "--json")
    assert status == 1, err
    hits = json.loads(out)["hits"]
    assert {(hit["source"], hit["kind"]) for hit in hits} == {
        ("database", "email"),
        ("log", "phone"),
    }
    assert {hit.get("line") for hit in hits} == {None, 2}

    status, out, err = await _cli(*common, "--email", email)
    assert status == 1, err
    assert "table people column email row (id=7)" in out

    status, out, err = await _cli(*common, "--name", name)
    assert status == 0, out + err
    assert "no personal data found" in out

    status, out, err = await _cli("--env-file", str(tmp_path / "none"), "--name", name)
    assert status == 2
    assert "no database, topic, log or Maildir to scan" in err


async def test_the_declared_topics_are_scanned_under_the_deployments_topic_prefix(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"pii-prefix-{uuid.uuid4().hex[:8]}."
    assert platform_topics(prefix=prefix) == [prefix + name for name in platform_topics()]
    env_file = tmp_path / "env"
    env_file.write_text(
        f"export BYGGRYGG_KAFKA_BOOTSTRAP={kafka_bootstrap}\n"
        f"export BYGGRYGG_KAFKA_TOPIC_PREFIX={prefix}\n",
        encoding="utf-8",
    )
    common = ("--env-file", str(env_file), "--platform-topics", "--name", "Kari", "--json")

    # Nobody created this deployment's topics: each is listed as missing, by its prefixed name.
    status, out, err = await _cli(*common)
    assert status == 0, err
    assert json.loads(out)["coverage"]["topics_missing"] == sorted(platform_topics(prefix=prefix))

    other = f"pii-other-{uuid.uuid4().hex[:8]}."
    status, out, err = await _cli(*common, "--topic-prefix", other)
    assert status == 0, err
    assert json.loads(out)["coverage"]["topics_missing"] == sorted(platform_topics(prefix=other))


# --- On the real services ----------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def user_topic(kafka_bootstrap: str, platform: Platform) -> AsyncIterator[TopicTail]:
    tail = await TopicTail.open(kafka_bootstrap, platform.topic(USER_TOPIC))
    try:
        yield tail
    finally:
        await tail.close()


def _user_created_for(member: Member) -> Callable[[ConsumerRecord[bytes, bytes]], bool]:
    def matches(record: ConsumerRecord[bytes, bytes]) -> bool:
        headers = headers_of(record)
        return (
            headers.get("ce_type") == USER_CREATED
            and headers.get("ce_subject") == member.subject_ref.encode()
        )

    return matches


async def test_a_new_user_is_in_identitys_projections_and_nowhere_in_kafka_or_the_logs(
    platform: Platform,
    platform_identity: IdentityApi,
    kafka_bootstrap: str,
    user_topic: TopicTail,
) -> None:
    organisation = await platform_identity.register_organisation()
    admin = await platform_identity.add_admin(organisation["organisation_id"])
    learner = await platform_identity.add_learner(organisation["organisation_id"], admin)
    # The learner's UserCreated is on Kafka: the topics scanned below hold the learner's event.
    await user_topic.find(_user_created_for(learner), deadline_s=RECORD_DEADLINE_S)

    report = await scan(
        Identifiers(names=(learner.name,), emails=(learner.email,), phones=(learner.phone,)),
        Targets(
            databases=(
                *(service.database_url for service in platform.services.values()),
                platform.keyring_database_url,
            ),
            kafka_bootstrap=kafka_bootstrap,
            topics=tuple(platform.topics()),
            logs=(
                *(service.log_file for service in platform.services.values()),
                platform.mail_sink.maildir.parent / "mail-sink.log",
            ),
        ),
    )

    # identity keeps plaintext projections of its users until erasure (DESIGN §4) ...
    identity_database = platform["identity"].database_url.rsplit("/", 1)[1]
    identity_hits = {
        (hit.table, hit.column, hit.kind)
        for hit in report.hits
        if isinstance(hit, DatabaseHit) and hit.database == identity_database
    }
    assert {("users", "name", "name"), ("users", "phone", "phone")} <= identity_hits
    assert any(kind == "email" for _table, _column, kind in identity_hits), identity_hits
    # ... but its event store holds ciphertext only,
    assert not any(table == "events" for table, _column, _kind in identity_hits), identity_hits
    # Kafka holds ciphertext only, and no log holds any of it.
    assert report.of("topic") == []
    assert report.of("log") == [], [hit.describe() for hit in report.of("log")]
    assert platform.topic(USER_TOPIC) in platform.topics()
    assert report.coverage.topics == len(platform_topics())  # every one of the session's
    assert report.coverage.records >= 1
    assert report.coverage.log_files == len(platform.services) + 1
    assert report.coverage.databases == len(platform.services) + 1
