"""The period rules on the fieldwork generator's accounts (``tests/support/fieldwork.py``), a
history built unlike the portfolio's and the scenarios', replayed in process as a backfill in
random batches with the plan before or after it: clean accounts of every noise model raise
nothing, and injected period risks are found."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest

from services.correlation.event_time import EvaluationConfig
from services.correlation.plans import (
    Stakeholder,
    StakeholderRole,
    StakeholderStatus,
    SuccessPlan,
)
from tests.support.fieldwork import CLEAN_MODELS, FieldworkAccount, build_fieldwork
from tests.support.replay import AccountReplay, replay, values_of

NOW = datetime(2026, 11, 25, 15, tzinfo=UTC)
CONFIG = EvaluationConfig()
OWNER = Stakeholder("owner", StakeholderRole.ADOPTION_OWNER, StakeholderStatus.ACTIVE, NOW)


def _backfill(account: FieldworkAccount, rng: random.Random) -> AccountReplay:
    values = values_of(account.events)
    plan = SuccessPlan.model_validate(
        {"id": "plan", "account_id": account.account_id, **account.plan,
         "adoption_owner_id": "owner"}
    )  # fmt: skip
    cuts = sorted(rng.randrange(len(values)) for _ in range(rng.randint(0, 8)))
    return replay(
        values,
        CONFIG,
        now=NOW,
        cuts=cuts,
        plan=plan,
        plan_at=0 if account.plan_first else len(cuts) + 1,
        stakeholders=(OWNER,),
    )


@pytest.fixture(scope="module")
def accounts() -> list[FieldworkAccount]:
    return build_fieldwork(2026, clean=30, per_risk=12, now=NOW)


def test_clean_accounts_of_every_noise_model_raise_nothing(
    accounts: list[FieldworkAccount],
) -> None:
    clean = [a for a in accounts if a.expected is None]
    assert {a.model for a in clean} == set(CLEAN_MODELS)
    rng = random.Random(1)
    raised = {a.account_id: _backfill(a, rng).raised() for a in clean}
    assert {aid: found for aid, found in raised.items() if found} == {}


def _beyond_doubt(account: FieldworkAccount) -> bool:
    """Whether an injected risk is large against any noise model of the generator: a drop
    fully in place for three weeks or more on 100 events a week or more; a shortfall whose true
    level lies 3.5 Poisson standard errors of its weeks beyond the tolerance's edge; the
    objective's risks always."""
    truth = account.truth
    if account.kind == "adoption_drop":
        return bool(truth["weeks_ago"] - truth["ramp"] >= 2 and truth["volume"] >= 100)
    if account.kind == "activity_off_track":
        activity = next(a for a in account.plan["itinerary"] if a["metric"] == truth["metric"])
        target, factor = truth["target"], truth["factor"]
        increase = activity["direction"] == "increase"
        level, edge = (
            (target * factor, 0.8 * target) if increase else (target / factor, 1.2 * target)
        )
        return bool(abs(level - edge) * math.sqrt(truth["weeks"] / edge) >= 3.5)
    return True


@pytest.mark.parametrize(
    "risk", ["adoption_drop", "activity_off_track", "objective_at_risk", "objective_achieved"]
)
def test_injected_period_risks_beyond_doubt_are_found(
    accounts: list[FieldworkAccount], risk: str
) -> None:
    rng = random.Random(2)
    injected = [a for a in accounts if a.expected == risk and _beyond_doubt(a)]
    assert len(injected) >= 3
    missed = [
        (a.account_id, a.truth)
        for a in injected
        if not any(p.signal_type.value == risk for p in _backfill(a, rng).raised())
    ]
    assert missed == []
