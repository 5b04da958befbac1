"""Write keys from Basic, Bearer, the body or a Kafka header; malformed headers are errors."""

from __future__ import annotations

import pytest

from services.ingest.credentials import write_key_from, write_key_from_headers
from services.ingest.errors import MalformedCredentials

# base64("key:") = "a2V5Og==": 6b 65 79 3a -> 011010 110110 010101 111001 001110 10(0000)
#                                        -> a 2 V 5 O g, then == padding.
BASIC_KEY_EMPTY_PASSWORD = "Basic a2V5Og=="
# base64("ampm_wk_abc:secret"): 18 bytes -> 24 characters, no padding.
BASIC_WITH_PASSWORD = "Basic YW1wbV93a19hYmM6c2VjcmV0"


def test_basic_username_is_the_write_key() -> None:
    assert write_key_from(BASIC_KEY_EMPTY_PASSWORD, None) == "key"


def test_basic_password_is_ignored() -> None:
    assert write_key_from(BASIC_WITH_PASSWORD, None) == "ampm_wk_abc"


def test_scheme_is_case_insensitive() -> None:
    assert write_key_from("basic a2V5Og==", None) == "key"
    assert write_key_from("bearer ampm_wk_1", None) == "ampm_wk_1"


def test_bearer_token_is_the_write_key() -> None:
    assert write_key_from("Bearer ampm_wk_1", None) == "ampm_wk_1"


def test_header_wins_over_the_body() -> None:
    assert write_key_from("Bearer from-header", "from-body") == "from-header"


@pytest.mark.parametrize("header", [None, "", "   "])
def test_body_write_key_is_used_without_a_header(header: str | None) -> None:
    assert write_key_from(header, "ampm_wk_body") == "ampm_wk_body"


@pytest.mark.parametrize("body", [None, "", "  "])
def test_no_key_anywhere_is_none(body: str | None) -> None:
    assert write_key_from(None, body) is None


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64",
        "Basic OnNlY3JldA==",  # base64(":secret"): no username
        "Basic //79",  # base64 of bytes ff fe fd: not UTF-8
        "Bearer",
        "Bearer    ",
        "Digest abc",
        "ampm_wk_1",
    ],
)
def test_malformed_authorization_is_an_error_not_a_fallback(header: str) -> None:
    with pytest.raises(MalformedCredentials) as caught:
        write_key_from(header, "ampm_wk_body")
    assert caught.value.field == "authorization"


def test_kafka_header_carries_the_write_key() -> None:
    headers = [("ce_id", b"1"), ("ampm-write-key", b"ampm_wk_kafka")]
    assert write_key_from_headers(headers) == "ampm_wk_kafka"
    assert write_key_from_headers([("ce_id", b"1")]) is None


def test_kafka_header_that_is_not_utf8_is_malformed() -> None:
    with pytest.raises(MalformedCredentials):
        write_key_from_headers([("ampm-write-key", b"\xff")])
