"""Request bytes to JSON: bounded gzip inflation, size limits and typed decoding errors."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib

import pytest

from services.ingest.errors import NotJson, TooLarge, UnreadableBody
from services.ingest.payloads import (
    check_content_type,
    decode_body,
    decompress_gzip,
    encoded_size,
    nul_path,
    parse_json,
)

MIB = 1024 * 1024


def gzip_bomb(inflated_bytes: int) -> bytes:
    """A gzip stream of zeros, built in chunks so the test never holds the inflated size."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(MIB)
    parts = [deflater.compress(chunk) for _ in range(inflated_bytes // MIB)]
    parts.append(deflater.flush())
    return b"".join(parts)


def test_gzip_round_trips() -> None:
    data = b'{"batch": []}' * 100
    assert decompress_gzip(gzip.compress(data), max_bytes=len(data)) == data


def test_gzip_bomb_stops_inflating_at_the_limit() -> None:
    bomb = gzip_bomb(64 * MIB)  # about 64 KiB on the wire
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge) as caught:
            decompress_gzip(bomb, max_bytes=MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.limit == MIB
    # Inflating the whole bomb would need 64 MiB; a bounded inflater needs about the limit.
    assert peak < 4 * MIB


def test_gzip_limit_allows_exactly_max_bytes_and_refuses_one_more() -> None:
    data = b"a" * 1000
    assert decompress_gzip(gzip.compress(data), max_bytes=1000) == data
    with pytest.raises(TooLarge):
        decompress_gzip(gzip.compress(data), max_bytes=999)


def test_concatenated_gzip_members_are_inflated_and_count_against_one_limit() -> None:
    body = gzip.compress(b"hello ") + gzip.compress(b"world")
    assert decompress_gzip(body, max_bytes=11) == b"hello world"
    with pytest.raises(TooLarge):
        decompress_gzip(body, max_bytes=10)


@pytest.mark.parametrize(
    "data",
    [
        b'{"not": "gzip"}',
        gzip.compress(b"a" * 1000)[:-10],  # truncated before the trailer
        gzip.compress(b"abc") + b"garbage",
    ],
)
def test_bad_gzip_is_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableBody):
        decompress_gzip(data, max_bytes=MIB)


@pytest.mark.parametrize("data", [b"{", b"", b"\xff\xfe{}", b"[1,]"])
def test_invalid_json_is_unreadable_and_names_the_field(data: bytes) -> None:
    with pytest.raises(UnreadableBody) as caught:
        parse_json(data, field="value")
    assert caught.value.field == "value"


def test_decode_body_inflates_gzip_whatever_the_header_case() -> None:
    body = gzip.compress(b'{"events": [1]}')
    assert decode_body(body, content_encoding=" GZIP ", max_bytes=100) == {"events": [1]}


def test_decode_body_enforces_the_limit_on_plain_bodies() -> None:
    body = b'{"a": 1}'  # 8 bytes
    assert decode_body(body, content_encoding=None, max_bytes=8) == {"a": 1}
    with pytest.raises(TooLarge):
        decode_body(body, content_encoding="identity", max_bytes=7)


def test_decode_body_refuses_encodings_it_cannot_inflate() -> None:
    with pytest.raises(UnreadableBody) as caught:
        decode_body(b"{}", content_encoding="br", max_bytes=100)
    assert caught.value.field == "content-encoding"


def test_encoded_size_is_the_compact_utf8_json_length() -> None:
    value = {"event": "café", "n": [1, 2.5, None, True]}
    expected = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    assert encoded_size(value) == expected


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"properties": {"plan": "pro\x00"}}, "properties.plan"),
        ({"properties": {"pl\x00an": "pro"}}, "properties.plan"),
        ({"properties": {"tags": ["a", "b\x00"]}}, "properties.tags[1]"),
        ({"na\x00me": "x"}, "name"),
        ({"properties": {"plan": "pro", "seats": 3}}, None),
    ],
)
def test_a_nul_anywhere_is_found_with_its_json_path(value: object, path: str | None) -> None:
    assert nul_path(value, "") == path


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "application/json; charset=utf-8", "text/plain", "a/b+json"],
)
def test_json_content_types_and_none_are_accepted(content_type: str | None) -> None:
    check_content_type(content_type)


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; b=x", "text/xml"]
)
def test_other_content_types_are_refused_naming_the_header(content_type: str) -> None:
    with pytest.raises(NotJson) as refused:
        check_content_type(content_type)
    assert refused.value.field == "content-type"


def test_a_json_syntax_error_says_where() -> None:
    with pytest.raises(UnreadableBody) as refused:
        parse_json(b'{"events": [\n  {"kind": "usage",, "name": "x"}]}')
    assert "line 2" in refused.value.reason and "column" in refused.value.reason
