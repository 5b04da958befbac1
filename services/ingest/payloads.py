"""Turn request bytes into JSON safely: bounded gzip inflation, size limits, typed JSON errors.

Limits are measured on the decompressed bytes, so a small gzip body cannot smuggle a large
payload past them; inflation stops one byte past the limit instead of expanding a gzip bomb.
"""

from __future__ import annotations

import zlib

import orjson

from services.ingest.errors import NotJson, TooLarge, UnreadableBody

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


# Segment's browser library sends its beacons as text/plain (no CORS preflight), and many
# clients send no content type at all: both carry JSON. Anything else declared is not JSON.
_JSON_MEDIA_TYPES = frozenset({"application/json", "text/plain"})


def check_content_type(content_type: str | None) -> None:
    """Raise ``NotJson`` for a declared content type that is not JSON (``+json`` types pass)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media and media not in _JSON_MEDIA_TYPES and not media.endswith("+json"):
        raise NotJson("content-type", f"{media!r} is not JSON; send application/json")


def nul_path(value: object, path: str) -> str | None:
    """The JSON path of the first NUL character in ``value``'s keys or strings, if any.

    No database column can store a NUL, so an event carrying one anywhere is refused whole.
    """
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                clean = str(key).replace("\x00", "")
                return f"{path}.{clean}" if path else clean
            found = nul_path(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


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
