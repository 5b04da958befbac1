"""Standard Webhooks signing: secrets, the JSON payload, and the three ``webhook-*`` headers.

A message is signed as ``v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>`` with the key
base64-decoded from the secret after its ``whsec_`` prefix. ``webhook-id`` stays the same across
retries (receivers deduplicate on it); ``webhook-timestamp`` is the time of each attempt, so a
retry is signed afresh. While a rotated-out secret is in its grace period, every attempt carries
one signature per secret, space-separated, so receivers can switch secrets at their own pace.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from services.notifier.errors import InvalidSecret

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"
DEFAULT_ROTATION_GRACE = timedelta(hours=24)


def new_secret(random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A fresh secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(random_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret; raises ``InvalidSecret`` if it is malformed."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise InvalidSecret(f"the part after {SECRET_PREFIX!r} is not base64: {exc}") from exc
    if not key:
        raise InvalidSecret("a webhook secret holds at least one byte")
    return key


def encode_payload(event_type: str, timestamp: datetime, data: Mapping[str, Any]) -> bytes:
    """The body as sent: compact JSON ``{"type", "timestamp", "data"}``, timestamps in UTC."""
    envelope = {"type": event_type, "timestamp": _utc(timestamp), "data": data}
    # OPT_UTC_Z writes "...Z" rather than "+00:00", the form the Standard Webhooks examples use.
    return orjson.dumps(envelope, option=orjson.OPT_UTC_Z)


def unix_seconds(moment: datetime) -> int:
    """Whole seconds since the epoch, as ``webhook-timestamp`` carries them."""
    return math.floor(_utc(moment).timestamp())


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of the message under ``secret``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signed_headers(
    message_id: str, attempted_at: datetime, body: bytes, signing_secrets: Sequence[str]
) -> dict[str, str]:
    """The headers of one delivery attempt of ``body``, signed with every given secret."""
    if not signing_secrets:
        raise InvalidSecret("at least one secret is needed to sign a message")
    timestamp = unix_seconds(attempted_at)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, message_id, timestamp, body) for secret in signing_secrets
        ),
        "content-type": "application/json",
    }


@dataclass(frozen=True)
class EndpointSecrets:
    """An endpoint's current secret and, during a rotation's grace period, the previous one."""

    current: str
    previous: str | None = None
    previous_expires_at: datetime | None = None

    def signing_secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets to sign with at ``now``: current first, then previous while in grace."""
        if self.previous is None or self.previous_expires_at is None:
            return (self.current,)
        if _utc(now) < _utc(self.previous_expires_at):
            return (self.current, self.previous)
        return (self.current,)

    def rotate(
        self, new: str, now: datetime, grace: timedelta = DEFAULT_ROTATION_GRACE
    ) -> EndpointSecrets:
        """Make ``new`` current; the secret it replaces stays valid for ``grace`` after ``now``."""
        secret_key(new)
        return EndpointSecrets(current=new, previous=self.current, previous_expires_at=now + grace)


def _utc(moment: datetime) -> datetime:
    # A naive datetime would be read in the host's local zone: refuse it rather than guess.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} must be timezone-aware")
    return moment.astimezone(UTC)
