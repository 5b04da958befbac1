"""Tokens, sealed keys and CSRF tokens: what keeps a session's secret key server-side.

A session or share link is a random token the browser holds (only its SHA-256 hash is stored);
the tenant's secret key it stands for is sealed with AES-GCM under a key derived from the
console's secret, so the table alone opens nothing. CSRF tokens are HMACs of the session (or of
a sign-in nonce) under another key derived from the same secret.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TOKEN_BYTES = 32
NONCE_BYTES = 12


def new_token() -> str:
    """A fresh random token for a session, a share link or a sign-in nonce."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256 hex digest (tokens carry 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


class Sealer:
    """Seals and opens secret keys, and signs and checks CSRF tokens, under one secret."""

    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(hashlib.sha256(b"ampm-console-seal\x00" + secret.encode()).digest())
        self._mac_key = hashlib.sha256(b"ampm-console-csrf\x00" + secret.encode()).digest()

    def seal(self, plaintext: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), None)

    def open(self, sealed: bytes) -> str | None:
        """The sealed text, or None when it was sealed under another secret or altered."""
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], None).decode()
        except (InvalidTag, ValueError):
            return None

    def csrf_token(self, subject: str) -> str:
        """The CSRF token of a session (its token hash) or of a sign-in nonce."""
        return hmac.new(self._mac_key, subject.encode(), hashlib.sha256).hexdigest()

    def csrf_matches(self, subject: str, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf_token(subject), token)
