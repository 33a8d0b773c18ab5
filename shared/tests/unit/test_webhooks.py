"""Standard Webhooks signing and verification (byggrygg_shared.webhooks): every refusal reason."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from standardwebhooks import Webhook, WebhookVerificationError

from byggrygg_shared.webhooks import (
    WEBHOOK_ID,
    WEBHOOK_SIGNATURE,
    WEBHOOK_TIMESTAMP,
    BadSignature,
    InvalidWebhookSecret,
    MalformedWebhook,
    MemoryWebhookReceipts,
    ReplayedWebhook,
    StaleTimestamp,
    WebhookRejected,
    WebhookSigner,
    WebhookVerifier,
    generate_secret,
    read_secret_file,
)

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
BODY = json.dumps({"type": "privacy.erasure.completed", "data": {"request_id": "r-1"}}).encode()
# The example of the Standard Webhooks specification's reference implementations.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def at(moment: datetime) -> WebhookSigner:
    return WebhookSigner([SPEC_SECRET], clock=lambda: moment)


def verifier(*, now: datetime = NOW, secrets: list[str] | None = None) -> WebhookVerifier:
    return WebhookVerifier(secrets or [SPEC_SECRET], clock=lambda: now)


def rejections(reason: str) -> float:
    value = REGISTRY.get_sample_value("byggrygg_webhook_rejections_total", {"reason": reason})
    return value or 0.0


def test_the_signature_is_the_specifications_reference_value() -> None:
    # Test vector of the specification's libraries: id msg_p5jXN8AQM9LWM0D4loKWxJek,
    # timestamp 1614265330, body {"test": 2432232314}.
    signer = WebhookSigner([SPEC_SECRET], clock=lambda: datetime.fromtimestamp(1614265330, UTC))
    headers = signer.headers(b'{"test": 2432232314}', webhook_id="msg_p5jXN8AQM9LWM0D4loKWxJek")
    assert headers[WEBHOOK_SIGNATURE] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers[WEBHOOK_TIMESTAMP] == "1614265330"


def test_a_signed_message_verifies_with_the_off_the_shelf_library() -> None:
    # What a sub-processor using `standardwebhooks` directly does with our requests.
    signer = WebhookSigner([SPEC_SECRET])
    headers = signer.headers(BODY, webhook_id=signer.new_id())
    assert Webhook(SPEC_SECRET).verify(BODY, headers) == json.loads(BODY)


def test_a_message_signed_by_the_library_verifies_here() -> None:
    webhook_id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    signature = Webhook(SPEC_SECRET).sign(webhook_id, NOW, BODY.decode())
    headers = {
        WEBHOOK_ID: webhook_id,
        WEBHOOK_TIMESTAMP: str(int(NOW.timestamp())),
        WEBHOOK_SIGNATURE: signature,
    }
    message = verifier().verify(BODY, headers)
    assert message.webhook_id == webhook_id
    assert message.timestamp == NOW
    assert message.json() == json.loads(BODY)


def test_header_names_are_case_insensitive() -> None:
    headers = at(NOW).headers(BODY, webhook_id="msg_1")
    upper = {name.title(): value for name, value in headers.items()}
    assert verifier().verify(BODY, upper).webhook_id == "msg_1"


def test_a_changed_body_is_a_bad_signature_and_is_counted() -> None:
    headers = at(NOW).headers(BODY, webhook_id="msg_1")
    before = rejections("bad_signature")
    with pytest.raises(BadSignature) as caught:
        verifier().verify(BODY.replace(b"r-1", b"r-2"), headers)
    assert caught.value.status == 401
    assert rejections("bad_signature") == before + 1


def test_a_changed_id_or_timestamp_is_a_bad_signature() -> None:
    headers = at(NOW).headers(BODY, webhook_id="msg_1")
    with pytest.raises(BadSignature):
        verifier().verify(BODY, {**headers, WEBHOOK_ID: "msg_2"})
    later = str(int(headers[WEBHOOK_TIMESTAMP]) + 1)
    with pytest.raises(BadSignature):
        verifier().verify(BODY, {**headers, WEBHOOK_TIMESTAMP: later})


def test_another_secret_is_a_bad_signature() -> None:
    headers = WebhookSigner([generate_secret()], clock=lambda: NOW).headers(BODY, webhook_id="m")
    with pytest.raises(BadSignature):
        verifier().verify(BODY, headers)


@pytest.mark.parametrize(
    "signature",
    ["", "v1", "v1,", "v1,not base64!", "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="],
)
def test_unusable_signature_entries_match_nothing(signature: str) -> None:
    headers = {**at(NOW).headers(BODY, webhook_id="m"), WEBHOOK_SIGNATURE: signature}
    with pytest.raises(WebhookRejected) as caught:
        verifier().verify(BODY, headers)
    # An empty header is missing (malformed); anything else simply matches no secret.
    expected = MalformedWebhook if signature == "" else BadSignature
    assert type(caught.value) is expected


def test_one_matching_signature_among_several_is_enough() -> None:
    good = at(NOW).headers(BODY, webhook_id="m")
    wrong = WebhookSigner([generate_secret()], clock=lambda: NOW).headers(BODY, webhook_id="m")
    header = f"v2,abc {wrong[WEBHOOK_SIGNATURE]} {good[WEBHOOK_SIGNATURE]}"
    assert verifier().verify(BODY, {**good, WEBHOOK_SIGNATURE: header}).webhook_id == "m"


def test_key_rotation_old_and_new_secret_both_verify() -> None:
    old, new = SPEC_SECRET, generate_secret()
    # During rotation the sender signs with both, and the receiver may hold either.
    headers = WebhookSigner([new, old], clock=lambda: NOW).headers(BODY, webhook_id="m")
    assert len(headers[WEBHOOK_SIGNATURE].split(" ")) == 2
    assert verifier(secrets=[old]).verify(BODY, headers)
    assert verifier(secrets=[new]).verify(BODY, headers)
    # A receiver holding both accepts a sender that has not rotated yet, and one that has.
    only_old = WebhookSigner([old], clock=lambda: NOW).headers(BODY, webhook_id="m")
    only_new = WebhookSigner([new], clock=lambda: NOW).headers(BODY, webhook_id="m")
    assert verifier(secrets=[new, old]).verify(BODY, only_old)
    assert verifier(secrets=[new, old]).verify(BODY, only_new)
    # After rotation the old secret is dropped: its signatures no longer pass.
    with pytest.raises(BadSignature):
        verifier(secrets=[new]).verify(BODY, only_old)


@pytest.mark.parametrize(
    ("signed_at", "stale"),
    [
        (NOW - timedelta(minutes=5), False),
        (NOW + timedelta(minutes=5), False),
        (NOW - timedelta(minutes=5, seconds=1), True),
        (NOW + timedelta(minutes=5, seconds=1), True),
        (NOW - timedelta(days=3), True),
    ],
)
def test_the_timestamp_must_be_within_five_minutes(signed_at: datetime, stale: bool) -> None:
    headers = at(signed_at).headers(BODY, webhook_id="m")
    if not stale:
        assert verifier().verify(BODY, headers).timestamp == signed_at
        return
    before = rejections("stale_timestamp")
    with pytest.raises(StaleTimestamp) as caught:
        verifier().verify(BODY, headers)
    assert caught.value.status == 401
    assert rejections("stale_timestamp") == before + 1


def test_the_tolerance_is_configurable() -> None:
    headers = at(NOW - timedelta(seconds=31)).headers(BODY, webhook_id="m")
    strict = WebhookVerifier([SPEC_SECRET], tolerance=timedelta(seconds=30), clock=lambda: NOW)
    with pytest.raises(StaleTimestamp):
        strict.verify(BODY, headers)


def test_a_forged_old_message_counts_as_a_bad_signature_not_stale() -> None:
    headers = at(NOW - timedelta(days=1)).headers(BODY, webhook_id="m")
    with pytest.raises(BadSignature):
        verifier().verify(BODY + b" ", headers)


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({WEBHOOK_ID: ""}, "webhook-id"),
        ({WEBHOOK_TIMESTAMP: ""}, "webhook-timestamp"),
        ({WEBHOOK_TIMESTAMP: "12.5"}, "epoch seconds"),
        ({WEBHOOK_TIMESTAMP: "-1"}, "epoch seconds"),
        ({WEBHOOK_TIMESTAMP: "9" * 40}, "epoch seconds"),
        ({WEBHOOK_ID: "x" * 300}, "too long"),
    ],
)
def test_missing_or_unreadable_headers_are_malformed(change: dict[str, str], missing: str) -> None:
    headers = {**at(NOW).headers(BODY, webhook_id="m"), **change}
    before = rejections("malformed")
    with pytest.raises(MalformedWebhook, match=missing) as caught:
        verifier().verify(BODY, headers)
    assert caught.value.status == 400
    assert rejections("malformed") == before + 1


def test_a_body_that_is_not_utf8_is_malformed() -> None:
    headers = at(NOW).headers(BODY, webhook_id="m")
    with pytest.raises(MalformedWebhook, match="UTF-8"):
        verifier().verify(b"\xff\xfe", headers)


def test_a_signed_body_that_is_not_json_is_malformed_when_read_as_json() -> None:
    headers = at(NOW).headers(b"not json", webhook_id="m")
    message = verifier().verify(b"not json", headers)
    with pytest.raises(MalformedWebhook, match="JSON"):
        message.json()


async def test_a_replayed_id_is_refused_and_counted() -> None:
    seen = MemoryWebhookReceipts()
    headers = at(NOW).headers(BODY, webhook_id="msg_once")
    assert (await verifier().verify_once(BODY, headers, seen)).webhook_id == "msg_once"
    # A retry of the same message is re-signed with a later timestamp: still the same id.
    again = at(NOW + timedelta(seconds=30)).headers(BODY, webhook_id="msg_once")
    before = rejections("replayed")
    with pytest.raises(ReplayedWebhook) as caught:
        await verifier(now=NOW + timedelta(seconds=30)).verify_once(BODY, again, seen)
    assert caught.value.status == 409
    assert rejections("replayed") == before + 1


async def test_a_refused_message_leaves_no_receipt() -> None:
    seen = MemoryWebhookReceipts()
    headers = at(NOW).headers(BODY, webhook_id="msg_1")
    with pytest.raises(BadSignature):
        await verifier().verify_once(BODY + b"x", headers, seen)
    assert await verifier().verify_once(BODY, headers, seen)


def test_generated_secrets_have_the_prefix_and_32_random_bytes() -> None:
    first, second = generate_secret(), generate_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert first != second


@pytest.mark.parametrize("secret", ["", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!"])
def test_unusable_secrets_are_refused_at_construction(secret: str) -> None:
    with pytest.raises(InvalidWebhookSecret):
        WebhookVerifier([secret])
    with pytest.raises(InvalidWebhookSecret):
        WebhookSigner(secret)


def test_no_secret_at_all_is_refused() -> None:
    with pytest.raises(InvalidWebhookSecret):
        WebhookVerifier([])


def test_a_secret_file_holds_one_secret_per_line(tmp_path: Path) -> None:
    new = generate_secret()
    path = tmp_path / "secret"
    path.write_text(f"{new}\n\n{SPEC_SECRET}\n", encoding="utf-8")
    assert read_secret_file(path) == [new, SPEC_SECRET]
    path.write_text("not a secret\n", encoding="utf-8")
    with pytest.raises(InvalidWebhookSecret):
        read_secret_file(path)


def test_the_library_refuses_what_we_refuse_as_stale() -> None:
    # Parity with the reference library's own window (it reads the real clock).
    old = datetime.now(UTC) - timedelta(minutes=6)
    headers = at(old).headers(BODY, webhook_id="m")
    with pytest.raises(WebhookVerificationError):
        Webhook(SPEC_SECRET).verify(BODY, headers)
