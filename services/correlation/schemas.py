"""Request and response models of the correlation API, and their builders from domain types."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.correlation.cohorts import ItineraryStep, PooledEffect
from services.correlation.event_time import Progress
from services.correlation.plans import ActivityTarget, Objective, SuccessPlan
from services.correlation.queries import AccountDetail
from services.correlation.records import Account, HealthSnapshot, Person, Signal
from services.correlation.store import stakeholder_role
from shared.signals import SIGNAL_CATEGORY, SignalState, SignalType


class SuccessPlanBody(BaseModel):
    """``PUT /v1/accounts/{account_id}/success-plan``: the account id comes from the path."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, min_length=1, max_length=200)
    objectives: list[Objective] = Field(min_length=1)
    itinerary: list[ActivityTarget] = Field(default_factory=list)
    adoption_owner_id: str | None = Field(default=None, min_length=1, max_length=200)
    sponsor_id: str | None = Field(default=None, min_length=1, max_length=200)

    def as_plan_fields(self) -> dict[str, Any]:
        """The body without unset optional fields (the plan id defaults per account)."""
        return self.model_dump(exclude_none=True)


class SignalOut(BaseModel):
    id: str
    type: SignalType
    subject: str
    state: SignalState
    evidence: dict[str, Any]
    resolution: dict[str, Any] | None
    raised_at: datetime
    resolved_at: datetime | None
    acknowledged_at: datetime | None

    @classmethod
    def of(cls, signal: Signal) -> SignalOut:
        return cls(
            id=signal.id,
            type=signal.signal_type,
            subject=signal.subject,
            state=signal.state,
            evidence=signal.evidence,
            resolution=signal.resolution,
            raised_at=signal.raised_at,
            resolved_at=signal.resolved_at,
            acknowledged_at=signal.acknowledged_at,
        )


class SignalList(BaseModel):
    signals: list[SignalOut]


class ComponentOut(BaseModel):
    name: str
    score: float | None = Field(description="0..1; null when the account has no data for it")
    weight: float
    contribution: float = Field(description="points this component adds to the score")


class HealthOut(BaseModel):
    account_id: str
    score: float
    components: list[ComponentOut]
    open_signals: list[SignalType]
    computed_at: datetime
    judged_through: str | None = Field(
        description="The last complete period the period rules judged (the health is as of it); "
        "null while the account is catching up on its history."
    )
    watermark: datetime | None = Field(
        description="The latest event time of a value applied to the account."
    )

    @classmethod
    def of(
        cls, snapshot: HealthSnapshot, open_signals: list[Signal], progress: Progress
    ) -> HealthOut:
        return cls(
            account_id=snapshot.account_id,
            score=snapshot.score,
            components=[
                ComponentOut(name=name, **values) for name, values in snapshot.components.items()
            ],
            open_signals=[s.signal_type for s in open_signals],
            computed_at=snapshot.computed_at,
            judged_through=progress.judged_through,
            watermark=progress.watermark,
        )


class AccountOut(BaseModel):
    account_id: str
    name: str | None
    segment: str | None
    traits: dict[str, Any]
    health_score: float | None
    open_signals: int

    @classmethod
    def of(cls, account: Account, score: float | None, open_signals: int) -> AccountOut:
        return cls(
            account_id=account.account_id,
            name=account.name,
            segment=account.segment,
            traits=account.traits,
            health_score=score,
            open_signals=open_signals,
        )


class ObjectiveSummary(BaseModel):
    metric: str
    title: str | None
    baseline: float
    target: float
    direction: str
    deadline: date


class PlanSummary(BaseModel):
    plan_id: str
    objectives: list[ObjectiveSummary]
    activities: int = Field(description="Steps of the itinerary.")
    sponsor_id: str | None
    adoption_owner_id: str | None

    @classmethod
    def of(cls, plan: SuccessPlan) -> PlanSummary:
        return cls(
            plan_id=plan.id,
            objectives=[
                ObjectiveSummary(
                    metric=o.metric,
                    title=o.title,
                    baseline=o.baseline,
                    target=o.target,
                    direction=o.direction.value,
                    deadline=o.deadline,
                )
                for o in plan.objectives
            ],
            activities=len(plan.itinerary),
            sponsor_id=plan.sponsor_id,
            adoption_owner_id=plan.adoption_owner_id,
        )


class HealthSummary(BaseModel):
    score: float
    computed_at: datetime


class HealthPoint(BaseModel):
    period: str
    score: float


class HealthHistoryOut(BaseModel):
    """``GET /v1/accounts/{account_id}/health/history``: the health as of each judged period."""

    account_id: str
    periods: list[HealthPoint]


class AccountDetailOut(BaseModel):
    """``GET /v1/accounts/{account_id}``."""

    account_id: str
    name: str | None
    segment: str | None
    seats: int | None = Field(description="Licensed seats, from the account's traits.")
    traits: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    health: HealthSummary | None = Field(description="Null until the account was evaluated.")
    judged_through: str | None = Field(
        description="The last complete period the period rules judged."
    )
    watermark: datetime | None = Field(
        description="The latest event time of a value applied to the account."
    )
    open_signals: dict[str, int] = Field(description="Open signals by type.")
    open_by_category: dict[str, int] = Field(description="Open signals by GPS category.")
    plan: PlanSummary | None

    @classmethod
    def of(cls, detail: AccountDetail) -> AccountDetailOut:
        account = detail.account
        seats = account.traits.get("seats")
        by_category: dict[str, int] = {}
        for signal_type, count in detail.open_signals.items():
            category = SIGNAL_CATEGORY[SignalType(signal_type)].value
            by_category[category] = by_category.get(category, 0) + count
        return cls(
            account_id=account.account_id,
            name=account.name,
            segment=account.segment,
            seats=seats if isinstance(seats, int) and not isinstance(seats, bool) else None,
            traits=account.traits,
            created_at=account.created_at,
            updated_at=account.updated_at,
            health=(
                HealthSummary(score=detail.health.score, computed_at=detail.health.computed_at)
                if detail.health
                else None
            ),
            judged_through=detail.progress.judged_through,
            watermark=detail.progress.watermark,
            open_signals=detail.open_signals,
            open_by_category=by_category,
            plan=PlanSummary.of(detail.plan) if detail.plan else None,
        )


class PersonOut(BaseModel):
    person_id: str
    name: str | None
    title: str | None
    role: str | None = Field(description="The role as the events gave it.")
    stakeholder_role: str | None = Field(
        description="What the rules read it as: sponsor, adoption_owner, supervisor or user."
    )
    plan_role: str | None = Field(
        description="sponsor or adoption_owner when the success plan names this person."
    )
    status: str = Field(description="active or departed")
    supervisor_id: str | None
    changed_at: datetime


class PeopleList(BaseModel):
    people: list[PersonOut]

    @classmethod
    def of(cls, people: list[Person], plan: SuccessPlan | None) -> PeopleList:
        named = {}
        if plan is not None:
            named = {plan.sponsor_id: "sponsor", plan.adoption_owner_id: "adoption_owner"}
        return cls(
            people=[
                PersonOut(
                    person_id=person.person_id,
                    name=person.name,
                    title=person.title,
                    role=person.role,
                    stakeholder_role=(
                        known.value if (known := stakeholder_role(person.role)) else None
                    ),
                    plan_role=named.get(person.person_id),
                    status=person.status,
                    supervisor_id=person.supervisor_id,
                    changed_at=person.changed_at,
                )
                for person in people
            ]
        )


class AccountPage(BaseModel):
    accounts: list[AccountOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class PooledOut(BaseModel):
    """A cohort's random-effects pooled lead, in the plan's intended direction."""

    activity: str
    objective: str
    verdict: str
    lag: int
    lags_tried: int
    r: float
    ci_low: float
    ci_high: float
    prediction_low: float | None
    prediction_high: float | None
    tau_squared: float
    i_squared: float
    p_value: float = Field(description="one-sided, Bonferroni-corrected for the lags tried")
    p_holm: float = Field(description="Holm-adjusted across the cohort's pairs: decides")
    q_value: float = Field(description="Benjamini-Hochberg across the cohort's pairs")
    n: int
    accounts: int

    @classmethod
    def of(cls, pooled: PooledEffect) -> PooledOut:
        return cls(
            activity=pooled.activity_metric,
            objective=pooled.objective_metric,
            verdict=pooled.verdict.value,
            lag=pooled.lag,
            lags_tried=pooled.lags_tried,
            r=pooled.r,
            ci_low=pooled.ci_low,
            ci_high=pooled.ci_high,
            prediction_low=pooled.prediction_low,
            prediction_high=pooled.prediction_high,
            tau_squared=pooled.tau_squared,
            i_squared=pooled.i_squared,
            p_value=pooled.p_value,
            p_holm=pooled.p_holm,
            q_value=pooled.q_value,
            n=pooled.n,
            accounts=pooled.accounts,
        )


class ItineraryStepOut(BaseModel):
    activity: str
    effect: PooledOut
    category: str | None
    direction: str | None
    typical_target: float | None = Field(description="median target of the cohort's plans")
    reached_target: float | None = Field(
        description="median target among accounts that reached their objective"
    )
    plans: int
    reached_plans: int

    @classmethod
    def of(cls, step: ItineraryStep) -> ItineraryStepOut:
        return cls(
            activity=step.activity_metric,
            effect=PooledOut.of(step.effect),
            category=step.category.value if step.category else None,
            direction=step.direction.value if step.direction else None,
            typical_target=step.typical_target,
            reached_target=step.reached_target,
            plans=step.plans,
            reached_plans=step.reached_plans,
        )


class CohortItineraryOut(BaseModel):
    trait: str
    value: str
    accounts: int
    correlations: list[PooledOut]
    itinerary: list[ItineraryStepOut] = Field(
        description="only activities whose pooled verdict is moves_objective"
    )
