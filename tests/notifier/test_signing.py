"""Standard Webhooks signing, checked against the reference ``standardwebhooks`` library."""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notifier.errors import InvalidSecret
from services.notifier.signing import (
    EndpointSecrets,
    encode_payload,
    new_secret,
    secret_key,
    signature,
    signed_headers,
    unix_seconds,
)

OLD_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"n" * 32).decode()


def _now() -> datetime:
    # The reference verifier compares webhook-timestamp with its own clock (5 min tolerance),
    # so these tests sign "now"; the signing code itself never reads the clock.
    return datetime.now(UTC)


def test_signature_matches_the_published_svix_example() -> None:
    # The worked example from the Svix/Standard Webhooks docs: secret, id, timestamp, payload
    # and the expected signature are all quoted from there.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert (
        signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_signature_is_hmac_sha256_of_id_timestamp_and_body() -> None:
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    body = b'{"type":"x"}'
    expected = hmac.new(key, b"msg_1.1700000000." + body, hashlib.sha256).digest()
    assert (
        signature(secret, "msg_1", 1700000000, body) == "v1," + base64.b64encode(expected).decode()
    )


def test_reference_library_verifies_a_signed_message() -> None:
    secret = new_secret()
    data = {"account_id": "acme", "title": "No adoption owner"}
    body = encode_payload("recommendation.created", _now(), data)
    headers = signed_headers("msg_abc", _now(), body, [secret])

    payload = Webhook(secret).verify(body, headers)

    assert payload["type"] == "recommendation.created"
    assert payload["data"] == data


def test_reference_library_rejects_a_tampered_body() -> None:
    secret = new_secret()
    body = encode_payload("signal.raised", _now(), {"n": 1})
    headers = signed_headers("msg_abc", _now(), body, [secret])

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b'"n":1', b'"n":2'), headers)


def test_retry_keeps_the_message_id_and_signs_its_own_timestamp() -> None:
    secret = new_secret()
    body = encode_payload("signal.raised", _now(), {"n": 1})
    first = signed_headers("msg_retry", _now() - timedelta(seconds=90), body, [secret])
    retry = signed_headers("msg_retry", _now(), body, [secret])

    assert retry["webhook-id"] == first["webhook-id"] == "msg_retry"
    assert retry["webhook-timestamp"] != first["webhook-timestamp"]
    assert retry["webhook-signature"] != first["webhook-signature"]
    Webhook(secret).verify(body, first)
    Webhook(secret).verify(body, retry)


def test_both_secrets_verify_during_the_rotation_grace_period() -> None:
    rotated_at = _now() - timedelta(hours=1)
    secrets = EndpointSecrets(OLD_SECRET).rotate(NEW_SECRET, rotated_at, grace=timedelta(hours=24))
    body = encode_payload("recommendation.created", _now(), {"n": 1})

    headers = signed_headers("msg_rot", _now(), body, secrets.signing_secrets(_now()))

    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(OLD_SECRET).verify(body, headers)
    Webhook(NEW_SECRET).verify(body, headers)


def test_old_secret_stops_verifying_after_the_grace_period() -> None:
    rotated_at = _now() - timedelta(hours=25)
    secrets = EndpointSecrets(OLD_SECRET).rotate(NEW_SECRET, rotated_at, grace=timedelta(hours=24))
    body = encode_payload("recommendation.created", _now(), {"n": 1})

    headers = signed_headers("msg_rot", _now(), body, secrets.signing_secrets(_now()))

    assert secrets.signing_secrets(_now()) == (NEW_SECRET,)
    Webhook(NEW_SECRET).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD_SECRET).verify(body, headers)


def test_grace_ends_exactly_at_its_expiry() -> None:
    rotated_at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    secrets = EndpointSecrets(OLD_SECRET).rotate(NEW_SECRET, rotated_at, grace=timedelta(hours=24))

    assert secrets.signing_secrets(rotated_at + timedelta(hours=23, minutes=59)) == (
        NEW_SECRET,
        OLD_SECRET,
    )
    assert secrets.signing_secrets(rotated_at + timedelta(hours=24)) == (NEW_SECRET,)


def test_rotating_to_a_malformed_secret_is_refused() -> None:
    with pytest.raises(InvalidSecret):
        EndpointSecrets(OLD_SECRET).rotate("not-a-secret", _now())


def test_new_secret_is_prefixed_base64_of_32_random_bytes() -> None:
    requested: list[int] = []

    def counting_bytes(n: int) -> bytes:
        requested.append(n)
        return bytes(range(n))

    # base64 of bytes 0x00..0x1f, written out.
    assert new_secret(counting_bytes) == "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    assert requested == [32]


def test_fresh_secrets_differ_and_decode_to_32_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first != second
    assert len(secret_key(first)) == 32


@pytest.mark.parametrize("secret", ["abc", "whsec_", "whsec_!!!notbase64", "sk_AAAA"])
def test_malformed_secrets_are_refused(secret: str) -> None:
    with pytest.raises(InvalidSecret):
        secret_key(secret)


def test_signing_needs_at_least_one_secret() -> None:
    with pytest.raises(InvalidSecret):
        signed_headers("msg_1", _now(), b"{}", [])


def test_payload_is_compact_json_with_utc_timestamp() -> None:
    paris = timezone(timedelta(hours=2))
    body = encode_payload(
        "recommendation.created", datetime(2024, 1, 2, 5, 4, 5, tzinfo=paris), {"a": [1, "b"]}
    )
    assert body == (
        b'{"type":"recommendation.created","timestamp":"2024-01-02T03:04:05Z","data":{"a":[1,"b"]}}'
    )
    assert json.loads(body)["data"] == {"a": [1, "b"]}


def test_headers_carry_id_integer_timestamp_and_signature() -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, 999_999, tzinfo=UTC)
    headers = signed_headers("msg_1", moment, b"{}", [OLD_SECRET])

    assert headers["webhook-id"] == "msg_1"
    # Whole seconds, rounded down: timegm ignores the microseconds.
    assert headers["webhook-timestamp"] == str(calendar.timegm((2024, 1, 2, 3, 4, 5)))
    assert headers["webhook-signature"] == signature(
        OLD_SECRET, "msg_1", int(headers["webhook-timestamp"]), b"{}"
    )


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        unix_seconds(datetime(2024, 1, 2, 3, 4, 5))
