"""The value digest contract: what the equivalents service publishes and the notifier delivers.

A ``ValueDigest`` is one account's value over one ended period (an ISO week or a calendar month)
in the equivalents customers care about, plus the value delivered to date. It travels on the
digests topic keyed like events (``tenant_id:account_id``), with CloudEvents headers whose
``ce_type`` is ``value.digest``. Its ``id`` is derived from (tenant, account, period), so a
digest published twice (a restart between publishing and recording it) is the same message,
and consumers deduplicate on it.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.clock import timestamp
from shared.events import CLOUDEVENTS_SPEC_VERSION, CONTENT_TYPE, Header, partition_key

VALUE_DIGEST: Literal["value.digest"] = "value.digest"
_DIGEST_NAMESPACE = uuid.UUID("7d6f1c52-3a51-4a43-9c7e-1f0f4f5d8a21")


class Cadence(StrEnum):
    """How often a tenant's accounts get a digest."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"


class DigestEquivalent(BaseModel):
    """One equivalent as a customer reads it, with its source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: Literal["action", "feel_good"]
    metric: str
    label: str
    text: str = Field(description='The sentence to show: "about 1,806 miles not driven".')
    amount: str
    value: float
    unit: str
    source_title: str
    source_edition: str


class ValueDigest(BaseModel):
    """An account's value over one ended period, and to date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    type: Literal["value.digest"] = VALUE_DIGEST
    tenant_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    cadence: Cadence
    period: str = Field(description='"2026-W48" (weekly) or "2026-11" (monthly).')
    period_start: date
    period_end: date = Field(description="Last day of the period (inclusive).")
    action: tuple[DigestEquivalent, ...] = Field(description="Value over the period, to act on.")
    feel_good: tuple[DigestEquivalent, ...] = Field(description="Value received in the period.")
    to_date: tuple[DigestEquivalent, ...] = Field(
        description="Feel-good value since the account's first usage, through the period's end."
    )
    since: date | None = Field(description="The account's first day of usage.")
    occurred_at: AwareDatetime = Field(description="When the digest was produced.")

    @staticmethod
    def digest_id(tenant_id: str, account_id: str, period: str) -> str:
        """The id of the digest of (tenant, account, period): the same on every attempt."""
        return str(uuid.uuid5(_DIGEST_NAMESPACE, f"{tenant_id}\x1f{account_id}\x1f{period}"))

    @property
    def key(self) -> bytes:
        return partition_key(self.tenant_id, self.account_id)

    def to_value(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    def headers(self) -> list[Header]:
        return [
            ("ce_id", self.id.encode()),
            ("ce_source", f"/tenants/{self.tenant_id}/equivalents".encode()),
            ("ce_type", VALUE_DIGEST.encode()),
            ("ce_time", timestamp(self.occurred_at).encode()),
            ("ce_specversion", CLOUDEVENTS_SPEC_VERSION.encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]

    @classmethod
    def from_value(cls, value: bytes | None) -> ValueDigest:
        """Decode a Kafka message value; a ``ValueError`` when it is not a digest."""
        return cls.model_validate(orjson.loads(value or b""))
