"""Re-evaluating accounts: load their state, run the rules, save signals, health and outbox rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.correlation import bucket_store, progress_store, risk, signal_store, store
from services.correlation.evaluation import (
    AccountState,
    Evaluation,
    evaluate,
    first_period,
    plan_metrics,
    stamp_event_decision,
)
from services.correlation.event_time import Scope, on_events
from services.correlation.intake import AppliedBatch
from services.correlation.itinerary import itinerary_status
from services.correlation.lifecycle import ROLE_CHANGED_MARK
from services.correlation.settings import CorrelationSettings
from services.correlation.tables import HealthSnapshotRow, SignalRow
from shared.clock import timestamp
from shared.events import Envelope
from shared.signals import (
    SIGNAL_CATEGORY,
    HealthPayload,
    SignalChange,
    SignalChangeType,
    SignalState,
    SignalType,
)

log = structlog.get_logger(__name__)


async def evaluate_accounts(
    session: AsyncSession, batch: AppliedBatch, settings: CorrelationSettings, now: datetime
) -> int:
    """Advance the touched accounts in event time and run the rules their changes call for;
    write signal changes and outbox rows. Returns how many accounts were evaluated.

    An account whose watermark completed a period is judged by every rule once its data is
    current; one catching up on history is not judged yet (lifecycle rules still run on its
    lifecycle events); a value for a period already judged leaves the account to be judged
    again once it is idle (the sweeper), so a history sent after live data is judged whole.
    """
    config = settings.evaluation
    watermarks = {key: extent[0] for key, extent in batch.extents.items()}
    progress = await progress_store.advance_accounts(session, batch.touched, watermarks, now)
    late = [
        key
        for key, (_, earliest) in batch.extents.items()
        if (judged := progress[key].judged_through) is not None
        and earliest <= judged
        and not progress[key].rejudge
    ]
    await progress_store.flag_rejudge(session, late)
    evaluated = 0
    for key in sorted(batch.touched):
        tenant_id, account_id = key
        scope, through = on_events(progress[key], now, config, lifecycle=key in batch.lifecycle)
        if scope is None:
            continue
        await evaluate_account(
            session,
            tenant_id,
            account_id,
            settings,
            now,
            scope=scope,
            through=through,
            blockers=batch.blockers.get(key, ()),
        )
        evaluated += 1
    return evaluated


async def evaluate_account(
    session: AsyncSession,
    tenant_id: str,
    account_id: str,
    settings: CorrelationSettings,
    now: datetime,
    *,
    scope: Scope,
    through: str | None,
    blockers: Sequence[Envelope] = (),
) -> None:
    """Apply blocker events, run the rules of ``scope``, update health; changes go to the
    outbox. A judgement (``Scope.JUDGEMENT``) records the account as judged ``through``."""
    config = settings.evaluation
    plan = await store.get_plan(session, tenant_id, account_id)
    open_rows = {
        (SignalType(row.signal_type), row.subject): row
        for row in await signal_store.signals_of(session, tenant_id, account_id, SignalState.OPEN)
    }
    for event in blockers:
        if not event.properties.get("blocker_id"):
            log.warning("blocker_without_id", tenant=tenant_id, event_id=event.id)
            continue
        blocker_id = str(event.properties["blocker_id"])
        key = (SignalType.BLOCKER_REPORTED, blocker_id)
        latest_at = await store.blocker_latest_at(session, tenant_id, account_id, blocker_id)
        decided = risk.blocker_reported(event, is_open=key in open_rows, latest_at=latest_at)
        decision = stamp_event_decision(decided, event.occurred_at, now, config)
        _apply_decision(session, tenant_id, account_id, decision, open_rows, now)
        await store.note_blocker_event(
            session,
            tenant_id,
            account_id,
            blocker_id,
            reported=event.name == risk.BLOCKER_REPORTED_EVENT,
            occurred_at=event.occurred_at,
        )
    window = config.thresholds.reorganization_window + config.thresholds.reorganization_quiet_window
    marks = await store.marks_since(session, tenant_id, account_id, now - window)
    buckets = (
        await bucket_store.load_buckets(
            session,
            tenant_id,
            [account_id],
            plan_metrics(plan),
            config.unit,
            first_period(now, config),
        )
        if through is not None
        else {}
    )
    state = AccountState(
        account_id=account_id,
        plan=plan,
        stakeholders=await store.stakeholders(session, tenant_id, account_id, plan),
        buckets=buckets.get(account_id, {}),
        reorganized_at=tuple(at for mark, at in marks if mark == risk.REORGANIZATION_EVENT),
        role_changed_at=tuple(at for mark, at in marks if mark == ROLE_CHANGED_MARK),
        reorganization_acknowledged_at=await signal_store.reorganization_acknowledged_at(
            session, tenant_id, account_id
        ),
        open_signals={key: row.evidence for key, row in open_rows.items()},
    )
    result = evaluate(state, now, config, scope=scope, through=through)
    for change in result.changes:
        _apply_decision(session, tenant_id, account_id, change, open_rows, now)
    await _record_health(session, tenant_id, account_id, result, settings, now)
    if scope is Scope.JUDGEMENT and through is not None:
        await progress_store.set_judged(session, tenant_id, account_id, through)


# Signals about the plan's own objectives, activities and owner: they end with the plan.
PLAN_SIGNALS = frozenset(
    {SignalType.NO_ADOPTION_OWNER, SignalType.ACTIVITY_OFF_TRACK, SignalType.OBJECTIVE_AT_RISK}
)


async def resolve_plan_signals(
    session: AsyncSession, tenant_id: str, account_id: str, now: datetime
) -> None:
    """Resolve the open signals about a plan that was deleted (the outbox says so)."""
    open_rows = {
        (SignalType(row.signal_type), row.subject): row
        for row in await signal_store.signals_of(session, tenant_id, account_id, SignalState.OPEN)
    }
    for signal_type, subject in sorted(open_rows):
        if signal_type in PLAN_SIGNALS:
            evidence = {
                "reason": "plan_deleted",
                "as_of": timestamp(now),
                "detected_at": timestamp(now),
                "catching_up": False,
            }
            decision = risk.Resolve(signal_type, subject, evidence)
            _apply_decision(session, tenant_id, account_id, decision, open_rows, now)


def _apply_decision(
    session: AsyncSession,
    tenant_id: str,
    account_id: str,
    decision: risk.Decision,
    open_rows: dict[tuple[SignalType, str], SignalRow],
    now: datetime,
) -> None:
    key = (decision.signal_type, decision.subject)
    if isinstance(decision, risk.Update):
        if key in open_rows:
            open_rows[key].evidence = dict(decision.evidence)
        return
    if isinstance(decision, risk.Raise):
        row = SignalRow(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            account_id=account_id,
            signal_type=decision.signal_type.value,
            subject=decision.subject,
            state=SignalState.OPEN.value,
            evidence=dict(decision.evidence),
            raised_at=now,
        )
        signal_store.add_signal(session, row)
        open_rows[key] = row
        change_type, evidence = SignalChangeType.RAISED, row.evidence
    elif isinstance(decision, risk.Resolve) and key in open_rows:
        row = open_rows.pop(key)
        row.state = SignalState.RESOLVED.value
        row.resolved_at = now
        row.resolution = dict(decision.evidence)
        change_type, evidence = SignalChangeType.RESOLVED, row.resolution
    else:
        return
    signal_store.add_outbox(
        session,
        SignalChange(
            id=str(uuid.uuid4()),
            type=change_type,
            tenant_id=tenant_id,
            account_id=account_id,
            signal_id=row.id,
            signal_type=decision.signal_type,
            category=SIGNAL_CATEGORY[decision.signal_type],
            subject=decision.subject,
            state=SignalState(row.state),
            evidence=evidence,
            as_of=evidence.get("as_of"),
            catching_up=bool(evidence.get("catching_up", False)),
            occurred_at=now,
        ),
    )


async def _record_health(
    session: AsyncSession,
    tenant_id: str,
    account_id: str,
    result: Evaluation,
    settings: CorrelationSettings,
    now: datetime,
) -> None:
    health = result.health
    score = round(max(0.0, min(100.0, health.score)), 2)
    components = {
        c.name: {"score": c.score, "weight": c.weight, "contribution": round(c.contribution, 2)}
        for c in health.components
    }
    snapshot = await signal_store.get_health(session, tenant_id, account_id)
    if snapshot is None:
        snapshot = HealthSnapshotRow(
            tenant_id=tenant_id,
            account_id=account_id,
            score=score,
            components=components,
            computed_at=now,
        )
        signal_store.add_health(session, snapshot)
    else:
        snapshot.score, snapshot.components, snapshot.computed_at = score, components, now
    previous = snapshot.published_score
    if previous is not None and abs(score - previous) < settings.health_change_points:
        return
    snapshot.published_score = score
    signal_store.add_outbox(
        session,
        SignalChange(
            id=str(uuid.uuid4()),
            type=SignalChangeType.HEALTH_CHANGED,
            tenant_id=tenant_id,
            account_id=account_id,
            health=HealthPayload(
                score=score,
                previous_score=previous,
                components=components,
                open_signals=list(result.open_signals),
                itinerary=list(itinerary_status(result.plan, result.series, settings.evaluation)),
            ),
            occurred_at=now,
        ),
    )
