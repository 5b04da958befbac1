"""Turn request bytes into JSON safely: bounded gzip inflation, size limits, typed JSON errors.

Limits are measured on the decompressed bytes, so a small gzip body cannot smuggle a large
payload past them; inflation stops one byte past the limit instead of expanding a gzip bomb.
"""

from __future__ import annotations

import zlib

import orjson

from services.ingest.errors import TooLarge, UnreadableBody

# 16 + MAX_WBITS tells zlib to expect a gzip header and trailer (not raw deflate or zlib).
GZIP_WBITS = 16 + zlib.MAX_WBITS
IDENTITY_ENCODINGS = frozenset({"", "identity"})
GZIP_ENCODINGS = frozenset({"gzip", "x-gzip"})


def decompress_gzip(data: bytes, max_bytes: int) -> bytes:
    """Inflate a gzip body; raises ``TooLarge`` past ``max_bytes`` and ``UnreadableBody`` if bad.

    Never holds more than ``max_bytes + 1`` inflated bytes. Concatenated gzip members (which
    RFC 1952 allows) are inflated one after the other and count against the same limit.
    """
    inflated = bytearray()
    pending = data
    while True:
        inflater = zlib.decompressobj(wbits=GZIP_WBITS)
        try:
            # max_length is at least 1 here: 0 would mean "no limit" to zlib.
            inflated += inflater.decompress(pending, max_bytes - len(inflated) + 1)
        except zlib.error as exc:
            raise UnreadableBody("body", f"not valid gzip: {exc}") from exc
        if len(inflated) > max_bytes:
            raise TooLarge("body", f"over {max_bytes} bytes once decompressed", limit=max_bytes)
        if not inflater.eof:
            raise UnreadableBody("body", "gzip data is truncated")
        pending = inflater.unused_data
        if not pending:
            return bytes(inflated)


def parse_json(data: bytes, *, field: str = "body") -> object:
    """Parse UTF-8 JSON; raises ``UnreadableBody`` naming ``field`` when it is not."""
    try:
        parsed: object = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UnreadableBody(field, f"not valid JSON: {exc}") from exc
    return parsed


def decode_body(data: bytes, *, content_encoding: str | None, max_bytes: int) -> object:
    """Decompress (when gzip) and parse a request body, enforcing ``max_bytes`` after inflation."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in GZIP_ENCODINGS:
        data = decompress_gzip(data, max_bytes)
    elif encoding not in IDENTITY_ENCODINGS:
        raise UnreadableBody("content-encoding", f"unsupported encoding {encoding!r}; use gzip")
    elif len(data) > max_bytes:
        raise TooLarge("body", f"over {max_bytes} bytes", limit=max_bytes)
    return parse_json(data)


def encoded_size(value: object) -> int:
    """Bytes of ``value`` as compact JSON: how per-message limits measure an already-parsed item."""
    return len(orjson.dumps(value))
