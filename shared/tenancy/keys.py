"""Tenants and API keys: pure rules (no I/O).

A tenant is a vendor using ampm. It has two kinds of key: write keys, which only ingest events
(safe to embed in a product), and secret keys, for the management APIs. Keys are shown once and
stored only as SHA-256 hashes; the prefix tells the kind at a glance and in logs.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

KEY_RANDOM_BYTES = 24
DISPLAY_PREFIX_LENGTH = 12


class KeyKind(StrEnum):
    WRITE = "write"
    SECRET = "secret"


KEY_PREFIX: dict[KeyKind, str] = {KeyKind.WRITE: "ampm_wk_", KeyKind.SECRET: "ampm_sk_"}


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key as shown once to its owner; only ``hash`` is stored."""

    kind: KeyKind
    plaintext: str

    @property
    def hash(self) -> str:
        return hash_key(self.plaintext)

    @property
    def display_prefix(self) -> str:
        return self.plaintext[:DISPLAY_PREFIX_LENGTH]


def new_tenant_id() -> str:
    return "tn_" + secrets.token_hex(8)


def issue_key(kind: KeyKind) -> IssuedKey:
    """A fresh random key of the given kind."""
    return IssuedKey(kind, KEY_PREFIX[kind] + secrets.token_urlsafe(KEY_RANDOM_BYTES))


def hash_key(plaintext: str) -> str:
    """SHA-256 hex digest: keys carry 192 random bits, so a fast unsalted hash is enough."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def key_kind_of(plaintext: str) -> KeyKind | None:
    """The kind a key claims by its prefix, or None for something that is not an ampm key."""
    for kind, prefix in KEY_PREFIX.items():
        if plaintext.startswith(prefix):
            return kind
    return None
