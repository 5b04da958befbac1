"""Erasure: a tenant deleted, or a person's data erased, across every service.

The ingest API records the request (``erasures``) and the subject it suppresses
(``erased_subjects``) in one transaction with its publication on ``ampm.erasures``; each service
consumes the topic in a group of its own (``erasure_runner``), applies the request to its own
tables and records that it did (``erasure_progress``) in the same transaction, so a request is
applied exactly once per service whatever crashes in between. Until then, and afterwards, the
consumers drop the events still in flight for a suppressed subject (``Suppression``), so nothing
erased is re-created. Pure: the contract, the subject hashes and the scrubbing of stored JSON.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# Every service applies every request; an erasure is complete once each one did.
SERVICES = ("ingest", "correlation", "equivalents", "notifier", "console")
ERASED = "erased"
"""What an erased person's id and name read as where a record of them stays."""


class ErasureScope(StrEnum):
    TENANT = "tenant"
    PERSON = "person"


class ErasureRequest(BaseModel):
    """One erasure as it travels on ``ampm.erasures`` (key: the tenant id)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    tenant_id: str
    scope: ErasureScope
    person_id: str | None = Field(default=None, description="For a person's erasure.")
    requested_at: AwareDatetime

    @property
    def key(self) -> bytes:
        return self.tenant_id.encode()

    def to_value(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_value(cls, value: bytes | None) -> ErasureRequest:
        return cls.model_validate(orjson.loads(value or b"null"))


def subject_hash(tenant_id: str, person_id: str | None) -> str:
    """What the suppression list keeps of a subject: a hash, so it names no one ("" for the
    whole tenant)."""
    if person_id is None:
        return ""
    return hashlib.sha256(f"{tenant_id}\x00{person_id}".encode()).hexdigest()


class Suppression:
    """The erased tenants and people among a batch's tenants: their events are dropped."""

    def __init__(self, subjects: Iterable[tuple[str, str]]) -> None:
        self._tenants: set[str] = set()
        self._people: set[tuple[str, str]] = set()
        for tenant_id, hashed in subjects:
            if hashed:
                self._people.add((tenant_id, hashed))
            else:
                self._tenants.add(tenant_id)

    def __bool__(self) -> bool:
        return bool(self._tenants or self._people)

    def drops(self, tenant_id: str, person_id: str | None) -> bool:
        """Whether an event of this tenant and person must be dropped."""
        if tenant_id in self._tenants:
            return True
        return person_id is not None and (tenant_id, subject_hash(tenant_id, person_id)) in (
            self._people
        )

    def drops_any(self, tenant_id: str, strings: Iterable[str]) -> bool:
        """Whether a record of this tenant names an erased tenant or person among ``strings``
        (every string of a stored JSON value, say)."""
        if tenant_id in self._tenants:
            return True
        return any(self.drops(tenant_id, text) for text in strings if text)


def strings_in(value: Any) -> Iterable[str]:
    """Every string of a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


def mentions(value: Any, person_ids: Collection[str]) -> bool:
    """Whether a JSON value names one of the people."""
    return any(text in person_ids for text in strings_in(value))


def scrub(value: Any, person_ids: Collection[str]) -> Any:
    """A JSON value with the people taken out: a description of one of them (``person_id``,
    ``name``, ``title``) keeps only ``person_id: "erased"``; an id anywhere reads ``"erased"``."""
    if isinstance(value, dict):
        if value.get("person_id") in person_ids:
            return {key: (ERASED if key == "person_id" else None) for key in value}
        return {key: scrub(item, person_ids) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item, person_ids) for item in value]
    if isinstance(value, str) and value in person_ids:
        return ERASED
    return value


def status_of(completed: dict[str, datetime]) -> str:
    """``completed`` once every service applied the request, else ``pending``."""
    return "completed" if all(service in completed for service in SERVICES) else "pending"
