"""Find the write key a client sent: HTTP Basic, Bearer, a body's ``writeKey`` or a Kafka header.

Segment SDKs send the write key as the Basic username with an empty password, and some also (or
only) as ``writeKey`` in the body; the native API and integrations send ``Bearer <key>``. When an
Authorization header is present it wins over the body, and a malformed one is an error rather
than a silent fall-back, so a client with a broken header learns why it is refused.
"""

from __future__ import annotations

import base64
import binascii

from services.ingest.errors import MalformedCredentials
from shared.events import Header, header_value
from shared.topics import RAW_WRITE_KEY_HEADER


def write_key_from(authorization_header: str | None, body_write_key: str | None) -> str | None:
    """The write key from ``Authorization`` (Basic or Bearer) or else the body; None if neither.

    Raises ``MalformedCredentials`` when the header is present but unreadable.
    """
    if authorization_header is not None and authorization_header.strip():
        return _key_from_authorization(authorization_header.strip())
    if body_write_key is not None and body_write_key.strip():
        return body_write_key.strip()
    return None


def write_key_from_headers(headers: list[Header] | tuple[Header, ...]) -> str | None:
    """The write key a trusted producer put in the raw topic's ``ampm-write-key`` header."""
    try:
        key = header_value(headers, RAW_WRITE_KEY_HEADER)
    except UnicodeDecodeError as exc:
        raise MalformedCredentials(RAW_WRITE_KEY_HEADER, "the header is not UTF-8") from exc
    return key.strip() or None if key is not None else None


def _key_from_authorization(header: str) -> str:
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        if not credentials:
            raise MalformedCredentials("authorization", "the Bearer token is empty")
        return credentials
    if scheme.lower() == "basic":
        return _basic_username(credentials)
    raise MalformedCredentials(
        "authorization", f"unsupported scheme {scheme!r}; use Basic or Bearer"
    )


def _basic_username(credentials: str) -> str:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise MalformedCredentials("authorization", "Basic credentials are not base64") from exc
    # The password is ignored: Segment SDKs send an empty one and the key alone identifies.
    username, _, _password = decoded.partition(":")
    if not username:
        raise MalformedCredentials(
            "authorization", "Basic credentials carry no write key as username"
        )
    return username
