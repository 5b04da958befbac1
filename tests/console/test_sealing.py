"""Sealed secret keys and CSRF tokens (pure)."""

from __future__ import annotations

from services.console.sealing import Sealer, new_token, token_hash


def test_a_sealed_key_opens_only_under_the_same_secret_and_unaltered() -> None:
    sealer = Sealer("a-secret-of-enough-length")
    sealed = sealer.seal("ampm_sk_example")
    assert b"ampm_sk_example" not in sealed
    assert sealer.open(sealed) == "ampm_sk_example"
    assert Sealer("another-secret-entirely").open(sealed) is None
    assert sealer.open(sealed[:-1] + bytes([sealed[-1] ^ 1])) is None
    assert sealer.seal("ampm_sk_example") != sealed  # a fresh nonce each time


def test_csrf_tokens_are_tied_to_their_session() -> None:
    sealer = Sealer("a-secret-of-enough-length")
    session = token_hash(new_token())
    token = sealer.csrf_token(session)
    assert sealer.csrf_matches(session, token)
    assert not sealer.csrf_matches(token_hash(new_token()), token)
    assert not sealer.csrf_matches(session, None)
    assert not Sealer("another-secret-entirely").csrf_matches(session, token)
