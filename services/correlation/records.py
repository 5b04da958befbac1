"""What the API reads back about an account, as stored: the account, its people, its signals
and its latest health snapshot. Frozen values, detached from the database session; each ``of``
reads one stored row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.correlation.tables import AccountRow, HealthSnapshotRow, PersonRow, SignalRow
from shared.signals import SignalState, SignalType


@dataclass(frozen=True, slots=True)
class Account:
    """An account's traits as ingest last described them."""

    account_id: str
    name: str | None
    segment: str | None
    traits: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: AccountRow) -> Account:
        return cls(
            row.account_id, row.name, row.segment, dict(row.traits), row.created_at, row.updated_at
        )


@dataclass(frozen=True, slots=True)
class Person:
    """One person at an account, with the role and status their latest event gave."""

    person_id: str
    name: str | None
    title: str | None
    role: str | None
    status: str
    supervisor_id: str | None
    changed_at: datetime

    @classmethod
    def of(cls, row: PersonRow) -> Person:
        return cls(
            row.person_id,
            row.name,
            row.title,
            row.role,
            row.status,
            row.supervisor_id,
            row.changed_at,
        )


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal, open or resolved, with the evidence it carries now."""

    id: str
    signal_type: SignalType
    subject: str
    state: SignalState
    evidence: dict[str, Any]
    resolution: dict[str, Any] | None
    raised_at: datetime
    resolved_at: datetime | None
    acknowledged_at: datetime | None

    @classmethod
    def of(cls, row: SignalRow) -> Signal:
        return cls(
            id=row.id,
            signal_type=SignalType(row.signal_type),
            subject=row.subject,
            state=SignalState(row.state),
            evidence=dict(row.evidence),
            resolution=dict(row.resolution) if row.resolution is not None else None,
            raised_at=row.raised_at,
            resolved_at=row.resolved_at,
            acknowledged_at=row.acknowledged_at,
        )


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """The account's latest health score and what each component contributed."""

    account_id: str
    score: float
    components: dict[str, Any]
    computed_at: datetime

    @classmethod
    def of(cls, row: HealthSnapshotRow) -> HealthSnapshot:
        return cls(row.account_id, row.score, dict(row.components), row.computed_at)
