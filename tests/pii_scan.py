"""Find a person's identifiers (names, e-mail addresses, phone numbers) wherever they are kept.

The proof behind erasure (issue 5, R16, DESIGN §4): after a data-subject erasure no database,
no Kafka record and no log may still hold the person's name, e-mail address or phone number in
plain text. This tool looks everywhere it is pointed at and reports every hit with its exact
place:

- PostgreSQL: every user table (and materialised view) of each database, every column holding
  text (text, varchar, char, citext, arrays of them, json, jsonb cast to text; bytea read as
  UTF-8 bytes); a hit names database, table, column and the row's primary key (or its ctid).
  PostgreSQL filters the rows (ILIKE on parameters, never identifiers spliced into SQL), Python
  then applies the exact rule, so a big table is not pulled over the wire.
- Kafka: every record of each topic from the partition's first offset to the end it had when
  the scan started (key, value, every header), streamed, never a whole topic in memory.
- Log files (the services', nginx's, the mail sink's): file and line number.
- A Maildir only when asked, reported apart: mails legitimately carry the address they go to.

What counts as a hit, case-insensitively:
- a name as whole words (any run of whitespace between its parts; "Kari" is not in "Karianne");
- an e-mail address as given (also percent-encoded, as in a link);
- a phone number by its digits, whatever the spacing, with or without +47 / 0047 / 47.
Text is also tried JSON-unescaped (``\\u00f8``) and URL-decoded. A key-ring token
(``enc:v1:...``) of an identifier is ciphertext and never a hit. Hits show where, and which
identifier, never the surrounding data (the output goes to CI logs).

Command line (exit status 1 when anything was found, 0 when nothing, 2 on a usage error)::

    uv run python -m tests.pii_scan --platform --name "Kari Nordmann" --email kari@example.no \\
        --phone "+47 912 34 567" [--json] [--mail]

``--platform`` scans what ``make up`` runs: every ``BYGGRYGG_*_DATABASE_URL`` of ``.run/env``
(the key ring included), the topics of ``deploy/topics.toml`` on ``BYGGRYGG_KAFKA_BOOTSTRAP``
and ``.run/logs/*.log``; ``--database``, ``--topic``, ``--all-topics``, ``--log`` and
``--maildir`` add to it or replace it. The declared topics are named with the deployment's
topic prefix (``--topic-prefix``, default ``BYGGRYGG_KAFKA_TOPIC_PREFIX`` of the env file,
usually none); a test session scans its own copy with ``Platform.topics()``.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import os
import re
import sys
import time
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

ROOT = Path(__file__).resolve().parents[1]
TOPICS_FILE = ROOT / "deploy" / "topics.toml"
RUN_ENV_FILE = ROOT / ".run" / "env"
RUN_LOG_DIR = ROOT / ".run" / "logs"
# A topic read that makes no progress for this long is an error, never a silent partial scan.
KAFKA_STALL_TIMEOUT_S = 60.0
KAFKA_POLL_MS = 500

Kind = Literal["name", "email", "phone"]

# --- What to look for -------------------------------------------------------------------------

# Runs of these ASCII characters survive JSON escaping, bytea's escape format and (for
# names and addresses split at "@", "+" and spaces) URL encoding: PostgreSQL's coarse filter
# is built from them, so it never drops a row the exact rule would match.
_PLAIN_RUN = re.compile(r"[A-Za-z0-9._-]{2,}")
_JSON_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_PHONE_SEPARATORS = r"[\s.\-]{0,2}"
# What is left of a text for the phone pre-filter: its digits, once the escapes that may sit
# between them are gone (bytea's \\303, JSON's \\u00a0, URL's %20), so that "91 23 45 67" in
# any of those forms still shows "91234567". PostgreSQL's regexp_replace takes the same pattern.
_NOT_PHONE_DIGITS = r"\\[0-7]{3}|\\u[0-9a-fA-F]{4}|%[0-9a-fA-F]{2}|[^0-9]"
_NOT_PHONE_DIGITS_RE = re.compile(_NOT_PHONE_DIGITS)


class NothingToScan(ValueError):
    """No identifier was given, or no place to look in."""


class TopicMissing(LookupError):
    """A topic asked for does not exist on the broker."""


class ScanIncomplete(RuntimeError):
    """A topic could not be read to its end: the scan would otherwise look clean wrongly."""


@dataclass(frozen=True)
class Needle:
    """One identifier: the exact rule (a regex) and PostgreSQL's coarse filter for it."""

    kind: Kind
    identifier: str
    pattern: re.Pattern[str]
    # ILIKE parameters that every matching text contains (names, e-mails) ...
    like_terms: tuple[str, ...] = ()
    # ... or, for phones, the digits a matching text contains once non-digits are removed.
    digits: str = ""

    def may_be_in(self, lowered: str, digits: str) -> bool:
        """The cheap pre-filter (the same as PostgreSQL's): true whenever `found_in` is."""
        if self.kind == "phone":
            return self.digits in digits
        return all(term in lowered for term in self.like_terms)

    def found_in(self, text: str) -> bool:
        return any(self.pattern.search(variant) for variant in text_variants(text))


def text_variants(text: str) -> Iterator[str]:
    """`text`, and the forms it takes once JSON unicode escapes and URL encoding are undone."""
    yield text
    if "\\u" in text:
        yield _JSON_UNICODE_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)
    if "%" in text or "+" in text:
        yield unquote(text.replace("+", " "))


def _like_terms(identifier: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(run.lower() for run in _PLAIN_RUN.findall(identifier)))


def name_needle(name: str) -> Needle:
    parts = name.split()
    if not parts:
        raise NothingToScan("an empty name")
    words = r"\s+".join(re.escape(part) for part in parts)
    return Needle(
        kind="name",
        identifier=name,
        pattern=re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE),
        like_terms=_like_terms(name),
    )


def email_needle(address: str) -> Needle:
    address = address.strip()
    if "@" not in address:
        raise NothingToScan(f"not an e-mail address: {address!r}")
    local, _, domain = address.rpartition("@")
    exact = rf"{re.escape(local)}(?:@|%40){re.escape(domain)}"
    return Needle(
        kind="email",
        identifier=address,
        pattern=re.compile(rf"(?<![\w.%+-]){exact}(?![\w-]|\.\w)", re.IGNORECASE),
        like_terms=_like_terms(address),
    )


def phone_digits(phone: str) -> str:
    """The national digits: "+47 912 34 567", "0047 91234567", "4791234567" -> "91234567"."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("0047"):
        return digits[4:]
    if digits.startswith("47") and (phone.lstrip().startswith("+") or len(digits) == 10):
        return digits[2:]
    return digits


def phone_needle(phone: str) -> Needle:
    digits = phone_digits(phone)
    if len(digits) < 5:
        raise NothingToScan(f"too few digits for a phone number: {phone!r}")
    number = _PHONE_SEPARATORS.join(digits)
    prefix = rf"(?:(?:\+|00)?\s?47{_PHONE_SEPARATORS})?"
    return Needle(
        kind="phone",
        identifier=phone,
        pattern=re.compile(rf"(?<!\d){prefix}{number}(?!\d)"),
        digits=digits,
    )


@dataclass(frozen=True)
class Identifiers:
    """The person's identifiers to look for."""

    names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    def needles(self) -> tuple[Needle, ...]:
        needles = (
            *(name_needle(name) for name in self.names),
            *(email_needle(address) for address in self.emails),
            *(phone_needle(phone) for phone in self.phones),
        )
        if not needles:
            raise NothingToScan("no name, e-mail address or phone number to look for")
        return needles


def _matching(needles: Sequence[Needle], text: str) -> Iterator[Needle]:
    lowered = text.lower()
    digits = _NOT_PHONE_DIGITS_RE.sub("", text) if any(n.digits for n in needles) else ""
    return (
        needle for needle in needles if needle.may_be_in(lowered, digits) and needle.found_in(text)
    )


# --- What was found ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseHit:
    """An identifier in a column of a row. `row` is the primary key, or ``{"ctid": ...}``."""

    database: str
    table: str
    column: str
    row: tuple[tuple[str, str], ...]
    kind: Kind
    identifier: str
    source: Literal["database"] = "database"

    def describe(self) -> str:
        row = ", ".join(f"{name}={value}" for name, value in self.row)
        return f"database {self.database} table {self.table} column {self.column} row ({row})"


@dataclass(frozen=True)
class TopicHit:
    """An identifier in a Kafka record: `where` is "key", "value" or "header <name>"."""

    topic: str
    partition: int
    offset: int
    where: str
    kind: Kind
    identifier: str
    source: Literal["topic"] = "topic"

    def describe(self) -> str:
        return f"topic {self.topic} partition {self.partition} offset {self.offset} {self.where}"


@dataclass(frozen=True)
class LogHit:
    """An identifier in a line (numbered from 1) of a log file."""

    file: str
    line: int
    kind: Kind
    identifier: str
    source: Literal["log"] = "log"

    def describe(self) -> str:
        return f"log {self.file} line {self.line}"


@dataclass(frozen=True)
class MailHit:
    """An identifier in a stored mail: `where` is "header <name>" or "body part <n>"."""

    file: str
    where: str
    kind: Kind
    identifier: str
    source: Literal["mail"] = "mail"

    def describe(self) -> str:
        return f"mail {self.file} {self.where}"


Hit = DatabaseHit | TopicHit | LogHit | MailHit


@dataclass
class Coverage:
    """How much was looked at: a scan of nothing finds nothing, so the tests check this too."""

    databases: int = 0
    tables: int = 0
    columns: int = 0
    topics: int = 0
    records: int = 0
    log_files: int = 0
    log_lines: int = 0
    mails: int = 0
    # Topics asked for with `skip_missing_topics` that the broker does not have (yet).
    topics_missing: list[str] = field(default_factory=list)


@dataclass
class ScanReport:
    hits: list[Hit] = field(default_factory=list)
    coverage: Coverage = field(default_factory=Coverage)

    def of(self, source: Literal["database", "topic", "log", "mail"]) -> list[Hit]:
        return [hit for hit in self.hits if hit.source == source]


# --- PostgreSQL -------------------------------------------------------------------------------

_TEXT_COLUMNS = """
SELECT n.nspname AS schema, c.relname AS table, a.attname AS column, t.typname AS type
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
WHERE c.relkind IN ('r', 'm')
  AND a.attnum > 0 AND NOT a.attisdropped
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND (t.typcategory = 'S' OR t.typname IN ('json', 'jsonb', 'bytea')
       OR e.typcategory = 'S' OR e.typname IN ('json', 'jsonb'))
ORDER BY n.nspname, c.relname, a.attnum
"""

_PRIMARY_KEYS = """
SELECT n.nspname AS schema, c.relname AS table, a.attname AS column
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) ON true
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE i.indisprimary
ORDER BY n.nspname, c.relname, k.position
"""


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def like_parameter(term: str) -> str:
    """``%term%`` for ILIKE, with the pattern characters of `term` escaped (backslash)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _coarse_filter(expression: str, needle: Needle, parameter: dict[str, int]) -> str:
    """A condition true for every row `needle` may match; identifiers only as parameters."""
    if needle.kind == "phone":
        digits = parameter[like_parameter(needle.digits)]
        pattern = _NOT_PHONE_DIGITS.replace("'", "''")
        return f"regexp_replace({expression}, '{pattern}', '', 'g') LIKE ${digits}"
    if not needle.like_terms:  # nothing plain to filter on (a name in non-Latin letters)
        return f"{expression} IS NOT NULL"
    return " AND ".join(
        f"{expression} ILIKE ${parameter[like_parameter(term)]} ESCAPE '\\'"
        for term in needle.like_terms
    )


def _parameters(needles: Sequence[Needle]) -> dict[str, int]:
    """Each distinct ILIKE/LIKE parameter with its number ($1, $2, ...)."""
    values: list[str] = []
    for needle in needles:
        if needle.kind == "phone":
            values.append(like_parameter(needle.digits))
        else:
            values += [like_parameter(term) for term in needle.like_terms]
    return {value: number for number, value in enumerate(dict.fromkeys(values), start=1)}


def _as_text(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/") or dsn


async def scan_database(dsn: str, needles: Sequence[Needle], report: ScanReport) -> None:
    """Every text-holding column of every user table of the database at `dsn`."""
    database = _database_name(dsn)
    conn: asyncpg.Connection = await asyncpg.connect(dsn)
    try:
        columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for row in await conn.fetch(_TEXT_COLUMNS):
            columns.setdefault((row["schema"], row["table"]), []).append(
                (row["column"], row["type"])
            )
        keys: dict[tuple[str, str], list[str]] = {}
        for row in await conn.fetch(_PRIMARY_KEYS):
            keys.setdefault((row["schema"], row["table"]), []).append(row["column"])
        parameter = _parameters(needles)
        report.coverage.databases += 1
        for (schema, table), table_columns in columns.items():
            report.coverage.tables += 1
            report.coverage.columns += len(table_columns)
            await _scan_table(
                conn,
                database=database,
                schema=schema,
                table=table,
                columns=table_columns,
                key=keys.get((schema, table), []),
                needles=needles,
                parameter=parameter,
                report=report,
            )
    finally:
        await conn.close()


async def _scan_table(
    conn: asyncpg.Connection,
    *,
    database: str,
    schema: str,
    table: str,
    columns: Sequence[tuple[str, str]],
    key: Sequence[str],
    needles: Sequence[Needle],
    parameter: dict[str, int],
    report: ScanReport,
) -> None:
    selected: list[str] = []
    conditions: list[str] = []
    for index, (column, type_name) in enumerate(columns):
        quoted = quote_ident(column)
        # bytea: the bytes themselves come back (decoded as UTF-8 here); the filter reads its
        # escape form, where ASCII stays ASCII.
        as_text = f"encode({quoted}, 'escape')" if type_name == "bytea" else f"{quoted}::text"
        selected.append(f"{quoted if type_name == 'bytea' else as_text} AS c{index}")
        conditions += [f"({_coarse_filter(as_text, needle, parameter)})" for needle in needles]
    key_columns = [f"{quote_ident(name)}::text AS k{i}" for i, name in enumerate(key)]
    query = (
        f"SELECT ctid::text AS ctid, {', '.join([*key_columns, *selected])} "
        f"FROM {quote_ident(schema)}.{quote_ident(table)} WHERE {' OR '.join(conditions)}"
    )
    label = table if schema == "public" else f"{schema}.{table}"
    for row in await conn.fetch(query, *parameter):
        row_id = (
            tuple((name, str(row[f"k{i}"])) for i, name in enumerate(key))
            if key
            else (("ctid", str(row["ctid"])),)
        )
        for index, (column, _type) in enumerate(columns):
            value = row[f"c{index}"]
            if value is None:
                continue
            for needle in _matching(needles, _as_text(value)):
                report.hits.append(
                    DatabaseHit(
                        database=database,
                        table=label,
                        column=column,
                        row=row_id,
                        kind=needle.kind,
                        identifier=needle.identifier,
                    )
                )


# --- Kafka ------------------------------------------------------------------------------------


def platform_topics(topics_file: Path = TOPICS_FILE, *, prefix: str = "") -> list[str]:
    """Every topic of deploy/topics.toml (dead-letter topics included), as a deployment with
    the topic prefix `prefix` (``kafka_topic_prefix``) names it."""
    with topics_file.open("rb") as file:
        return [prefix + str(topic["name"]) for topic in tomllib.load(file)["topic"]]


async def broker_topics(bootstrap: str) -> list[str]:
    """Every topic on the broker except Kafka's own (``__consumer_offsets``, ...)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = await admin.list_topics()
    finally:
        await admin.close()
    return sorted(name for name in names if not name.startswith("__"))


async def _partitions(
    bootstrap: str, topics: Sequence[str], *, skip_missing: bool, report: ScanReport
) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    found = {topic["topic"]: topic for topic in described if topic["error_code"] == 0}
    missing = sorted(set(topics) - set(found))
    if missing and skip_missing:
        report.coverage.topics_missing += missing
    elif missing:
        raise TopicMissing(f"no such topic(s) on {bootstrap}: {', '.join(missing)}")
    return [
        TopicPartition(name, partition["partition"])
        for name in topics
        if name in found
        for partition in found[name]["partitions"]
    ]


def _record_parts(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]
) -> Iterator[tuple[str, str]]:
    if key:
        yield "key", _as_text(key)
    if value:
        yield "value", _as_text(value)
    for name, header_value in headers:
        yield f"header name {name}", name
        if header_value:
            yield f"header {name}", _as_text(header_value)


async def scan_topics(
    bootstrap: str,
    topics: Sequence[str],
    needles: Sequence[Needle],
    report: ScanReport,
    *,
    skip_missing: bool = False,
) -> None:
    """Every record of `topics`, from each partition's first offset to its end at the start.

    A topic the broker does not have raises TopicMissing, unless `skip_missing` (a declared
    topic nobody created yet holds nothing): then it is listed in the coverage.
    """
    topics = list(dict.fromkeys(topics))
    partitions = await _partitions(bootstrap, topics, skip_missing=skip_missing, report=report)
    report.coverage.topics += len({tp.topic for tp in partitions})
    if not partitions:
        return
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        pending = {tp for tp in partitions if starts[tp] < ends[tp]}
        for tp in partitions:
            if tp in pending:
                consumer.seek(tp, starts[tp])
            else:
                consumer.pause(tp)
        last_progress = time.monotonic()
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=KAFKA_POLL_MS)
            for tp, records in batches.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue  # written after the scan began
                    report.coverage.records += 1
                    _check_record(record, needles, report)
            if batches:
                last_progress = time.monotonic()
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
                    consumer.pause(tp)
            if pending and time.monotonic() - last_progress > KAFKA_STALL_TIMEOUT_S:
                left = ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in pending))
                raise ScanIncomplete(f"no progress for {KAFKA_STALL_TIMEOUT_S}s reading {left}")
    finally:
        await consumer.stop()


def _check_record(
    record: ConsumerRecord[bytes, bytes], needles: Sequence[Needle], report: ScanReport
) -> None:
    for where, text in _record_parts(record.key, record.value, list(record.headers)):
        for needle in _matching(needles, text):
            report.hits.append(
                TopicHit(
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    where=where,
                    kind=needle.kind,
                    identifier=needle.identifier,
                )
            )


# --- Files ------------------------------------------------------------------------------------


def log_files(paths: Iterable[Path]) -> list[Path]:
    """The files among `paths`, and the ``*.log`` files of the directories among them."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.log")) if path.is_dir() else [path]
    return list(dict.fromkeys(files))


def scan_log(path: Path, needles: Sequence[Needle], report: ScanReport) -> None:
    """Line by line (read as UTF-8, undecodable bytes replaced), streamed."""
    report.coverage.log_files += 1
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            report.coverage.log_lines += 1
            for needle in _matching(needles, raw.decode("utf-8", errors="replace")):
                report.hits.append(
                    LogHit(
                        file=str(path), line=number, kind=needle.kind, identifier=needle.identifier
                    )
                )


def _mail_files(maildir: Path) -> list[Path]:
    folders = [maildir / "new", maildir / "cur"]
    if not any(folder.is_dir() for folder in folders):
        folders = [maildir]
    return sorted(
        path for folder in folders if folder.is_dir() for path in folder.iterdir() if path.is_file()
    )


def _mail_parts(raw: bytes) -> Iterator[tuple[str, str]]:
    """Decoded headers (RFC 2047) and decoded text parts (quoted-printable, base64)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for name, value in message.items():
        yield f"header {name}", str(value)
    for number, part in enumerate(message.walk(), start=1):
        if part.get_content_maintype() != "text":
            continue
        try:
            content = part.get_content()
        except (LookupError, ValueError):  # an unknown charset: read the raw bytes instead
            content = _as_text(part.get_payload(decode=True) or b"")
        yield f"body part {number}", str(content)
    yield "raw", _as_text(raw)


def scan_maildir(maildir: Path, needles: Sequence[Needle], report: ScanReport) -> None:
    """Every stored mail of a Maildir (``new/``, ``cur/``), headers and text parts decoded."""
    for path in _mail_files(maildir):
        report.coverage.mails += 1
        found: set[tuple[str, str]] = set()
        for where, text in _mail_parts(path.read_bytes()):
            for needle in _matching(needles, text):
                # The raw message only counts when nothing decoded showed the identifier.
                if where == "raw" and any(
                    identifier == needle.identifier for _, identifier in found
                ):
                    continue
                found.add((where, needle.identifier))
                report.hits.append(
                    MailHit(
                        file=str(path), where=where, kind=needle.kind, identifier=needle.identifier
                    )
                )


# --- The whole scan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """Where to look."""

    databases: tuple[str, ...] = ()
    kafka_bootstrap: str | None = None
    topics: tuple[str, ...] = ()
    logs: tuple[Path, ...] = ()
    maildirs: tuple[Path, ...] = ()
    skip_missing_topics: bool = False


async def scan(identifiers: Identifiers, targets: Targets) -> ScanReport:
    """Look for `identifiers` in every place of `targets`; every hit, in the order found."""
    needles = identifiers.needles()
    if not (targets.databases or targets.topics or targets.logs or targets.maildirs):
        raise NothingToScan("no database, topic, log or Maildir to scan")
    if targets.topics and not targets.kafka_bootstrap:
        raise NothingToScan("topics to scan but no Kafka bootstrap address")
    report = ScanReport()
    for dsn in dict.fromkeys(targets.databases):
        await scan_database(dsn, needles, report)
    if targets.topics and targets.kafka_bootstrap:
        await scan_topics(
            targets.kafka_bootstrap,
            targets.topics,
            needles,
            report,
            skip_missing=targets.skip_missing_topics,
        )
    for path in log_files(targets.logs):
        scan_log(path, needles, report)
    for maildir in targets.maildirs:
        scan_maildir(maildir, needles, report)
    return report


# --- Command line -----------------------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """The ``export NAME=value`` lines of a file such as .run/env."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if sep:
            values[name.strip()] = value.strip().strip("'\"")
    return values


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.pii_scan",
        description="Report every place holding a person's name, e-mail address or phone "
        "number in plain text. Exit status 1 when anything is found, 0 when nothing is.",
    )
    who = parser.add_argument_group("the person")
    who.add_argument("--name", action="append", default=[], help="a name (repeatable)")
    who.add_argument("--email", action="append", default=[], help="an e-mail address")
    who.add_argument("--phone", action="append", default=[], help="a phone number")
    where = parser.add_argument_group("where to look")
    where.add_argument(
        "--platform",
        action="store_true",
        help="what `make up` runs: the databases of --env-file, the topics of "
        "deploy/topics.toml and the logs in .run/logs",
    )
    where.add_argument("--env-file", type=Path, default=RUN_ENV_FILE, help="default: .run/env")
    where.add_argument("--database", action="append", default=[], help="a PostgreSQL DSN")
    where.add_argument("--bootstrap", help="Kafka bootstrap (default: from --env-file)")
    where.add_argument("--topic", action="append", default=[], help="a Kafka topic")
    where.add_argument(
        "--platform-topics", action="store_true", help="every topic of deploy/topics.toml"
    )
    where.add_argument(
        "--topic-prefix",
        help="the deployment's Kafka topic prefix, put before the declared topics' names "
        "(default: BYGGRYGG_KAFKA_TOPIC_PREFIX of --env-file, else none)",
    )
    where.add_argument("--all-topics", action="store_true", help="every topic on the broker")
    where.add_argument(
        "--log", action="append", default=[], type=Path, help="a log file, or a folder of *.log"
    )
    where.add_argument(
        "--mail",
        action="store_true",
        help="also the mail sink's Maildir (BYGGRYGG_MAIL_DIR of --env-file); reported apart",
    )
    where.add_argument("--maildir", action="append", default=[], type=Path, help="a Maildir")
    parser.add_argument("--json", action="store_true", help="hits and coverage as JSON")
    return parser


async def _targets(options: argparse.Namespace) -> Targets:
    env: dict[str, str] = {}
    if options.env_file.is_file():
        env = read_env_file(options.env_file)
    elif options.platform or options.mail:
        raise NothingToScan(f"{options.env_file} does not exist: run `make up`")
    databases = list(options.database)
    topics = list(options.topic)
    logs = list(options.log)
    maildirs = list(options.maildir)
    bootstrap = options.bootstrap or env.get("BYGGRYGG_KAFKA_BOOTSTRAP")
    if options.platform:
        databases += [
            value
            for name, value in sorted(env.items())
            if name.startswith("BYGGRYGG_") and name.endswith("_DATABASE_URL")
        ]
        logs.append(RUN_LOG_DIR)
    if options.platform or options.platform_topics:
        prefix = options.topic_prefix
        if prefix is None:
            prefix = env.get("BYGGRYGG_KAFKA_TOPIC_PREFIX", "")
        topics += platform_topics(prefix=prefix)
    if options.all_topics:
        if not bootstrap:
            raise NothingToScan("--all-topics needs --bootstrap or BYGGRYGG_KAFKA_BOOTSTRAP")
        topics += await broker_topics(bootstrap)
    if options.mail:
        maildirs.append(Path(env.get("BYGGRYGG_MAIL_DIR", str(ROOT / ".run" / "mail"))))
    return Targets(
        databases=tuple(databases),
        kafka_bootstrap=bootstrap,
        topics=tuple(topics),
        logs=tuple(logs),
        maildirs=tuple(maildirs),
        # The declared topics (deploy/topics.toml) may include some not created yet.
        skip_missing_topics=options.platform or options.platform_topics,
    )


def render(report: ScanReport) -> str:
    """Readable lines: where each identifier was found, mails apart, then what was scanned."""
    lines: list[str] = []
    for title, sources in (
        ("personal data found", ("database", "topic", "log")),
        ("in mails", ("mail",)),
    ):
        hits = [hit for hit in report.hits if hit.source in sources]
        if hits:
            lines.append(f"{title}: {len(hits)}")
            lines += [f"  {hit.kind} {hit.identifier!r}: {hit.describe()}" for hit in hits]
    if not report.hits:
        lines.append("no personal data found")
    coverage = ", ".join(f"{name} {count}" for name, count in asdict(report.coverage).items())
    lines.append(f"scanned: {coverage}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    identifiers = Identifiers(
        names=tuple(options.name), emails=tuple(options.email), phones=tuple(options.phone)
    )
    try:
        report = asyncio.run(_run(identifiers, options))
    except (NothingToScan, TopicMissing) as error:
        print(f"pii_scan: {error}", file=sys.stderr)
        return 2
    if options.json:
        print(
            json.dumps(
                {"hits": [asdict(hit) for hit in report.hits], "coverage": asdict(report.coverage)},
                indent=2,
            )
        )
    else:
        print(render(report))
    return 1 if report.hits else 0


async def _run(identifiers: Identifiers, options: argparse.Namespace) -> ScanReport:
    return await scan(identifiers, await _targets(options))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
