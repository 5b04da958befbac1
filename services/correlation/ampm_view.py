"""Response models of the AM/PM view: each activity and objective per period, the
projection with its interval, the correlations and the lead/lag verdicts, and their builders
from domain types.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from services.correlation.buckets import PeriodUnit
from services.correlation.correlations import LagCorrelation, PairCorrelation
from services.correlation.leadlag import LagTest, LeadLag
from services.correlation.plans import ActivityTarget, Objective
from services.correlation.projection import Projection
from services.correlation.series import InsufficientEvidence, Series


class InsufficientEvidenceOut(BaseModel):
    reason: str
    points: int
    required: int

    @classmethod
    def of(cls, gap: InsufficientEvidence) -> InsufficientEvidenceOut:
        return cls(reason=gap.reason.value, points=gap.points, required=gap.required)


class LagOut(BaseModel):
    """One lag: the coefficients, or why there are none."""

    lag: int
    n: int | None = None
    pearson_r: float | None = None
    pearson_p: float | None = None
    spearman_rho: float | None = None
    spearman_p: float | None = None
    insufficient_evidence: InsufficientEvidenceOut | None = None


class CorrelationOut(BaseModel):
    """Raw coefficients on the levels, per lag: for transparency, never a verdict.

    Levels of trending or autocorrelated series correlate without any link between them; read
    the pair's entry in ``verdicts`` for what the evidence supports.
    """

    activity: str
    objective: str
    lags: list[LagOut]

    @classmethod
    def of(cls, pair: PairCorrelation) -> CorrelationOut:
        lags = []
        for lag, outcome in enumerate(pair.lags):
            if isinstance(outcome, LagCorrelation):
                lags.append(
                    LagOut(
                        lag=lag,
                        n=outcome.n,
                        pearson_r=outcome.pearson_r,
                        pearson_p=outcome.pearson_p,
                        spearman_rho=outcome.spearman_rho,
                        spearman_p=outcome.spearman_p,
                    )
                )
            else:
                lags.append(
                    LagOut(lag=lag, insufficient_evidence=InsufficientEvidenceOut.of(outcome))
                )
        return cls(activity=pair.activity_metric, objective=pair.performance_metric, lags=lags)


class LagTestOut(BaseModel):
    """One lag of the pre-whitened analysis."""

    lag: int
    n: int
    r: float = Field(description="pre-whitened correlation (sign as measured)")
    effect: float = Field(description="objective units per activity unit, pre-whitened slope")
    ci_low: float
    ci_high: float
    p_value: float = Field(description="one-sided, in the plan's intended direction")
    p_two_sided: float
    q_value: float = Field(description="Benjamini-Hochberg over the plan's lags x pairs")

    @classmethod
    def of(cls, test: LagTest) -> LagTestOut:
        return cls(**test.__dict__)


class VerdictOut(BaseModel):
    """Does the activity lead the objective? The decision, its effect, interval and lag."""

    activity: str
    objective: str
    verdict: str = Field(description="moves_objective | no_evidence | insufficient_evidence")
    reason: str | None = Field(
        description="for insufficient_evidence: too_few_points | constant_series | "
        "too_few_periods_after_whitening; for no_evidence: not_significant | opposite_direction"
    )
    intended_sign: int = Field(description="+1: more activity should raise the objective")
    points: int
    lag: int | None = Field(description="the best lag (smallest q); null without evidence")
    r: float | None
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    q_value: float | None
    lags: list[LagTestOut]

    @classmethod
    def of(cls, pair: LeadLag) -> VerdictOut:
        best = pair.best
        reason = pair.reason.value if pair.reason else None
        if pair.verdict.value == "no_evidence":
            reason = "opposite_direction" if pair.opposite_direction else "not_significant"
        return cls(
            activity=pair.activity_metric,
            objective=pair.objective_metric,
            verdict=pair.verdict.value,
            reason=reason,
            intended_sign=pair.intended_sign,
            points=pair.points,
            lag=pair.lag,
            r=best.r if best else None,
            effect=best.effect if best else None,
            ci_low=best.ci_low if best else None,
            ci_high=best.ci_high if best else None,
            p_value=best.p_value if best else None,
            q_value=best.q_value if best else None,
            lags=[LagTestOut.of(test) for test in pair.tests],
        )


class ActivityPeriodOut(BaseModel):
    period: str
    actual: float | None
    target: float
    on_target: bool | None


class ActivityOut(BaseModel):
    metric: str
    title: str | None
    unit: str | None
    category: str
    direction: str
    aggregation: str
    target_per_period: float
    periods: list[ActivityPeriodOut]

    @classmethod
    def of(cls, activity: ActivityTarget, series: Series | None) -> ActivityOut:
        periods = []
        if series is not None:
            for key, value in zip(series.keys, series.values, strict=True):
                periods.append(
                    ActivityPeriodOut(
                        period=key,
                        actual=value,
                        target=activity.target_per_period,
                        on_target=None if value is None else activity.is_on_target(value),
                    )
                )
        return cls(
            metric=activity.metric,
            title=activity.title,
            unit=activity.unit,
            category=activity.category.value,
            direction=activity.direction.value,
            aggregation=activity.aggregation.value,
            target_per_period=activity.target_per_period,
            periods=periods,
        )


class ProjectionOut(BaseModel):
    points: int
    slope_per_period: float
    latest_period: str
    latest_value: float
    deadline_period: str
    periods_to_deadline: int
    projected_value: float
    meets_target: bool
    progress: float
    fitted_latest_value: float = Field(
        description="The trend line at the latest period: where the projection starts."
    )
    interval_low: float = Field(description="Prediction interval at the deadline, low end.")
    interval_high: float = Field(description="Prediction interval at the deadline, high end.")
    interval_confidence: float

    @classmethod
    def of(cls, projection: Projection) -> ProjectionOut:
        return cls(
            points=projection.points,
            slope_per_period=projection.slope,
            latest_period=projection.latest_period,
            latest_value=projection.latest_value,
            deadline_period=projection.deadline_period,
            periods_to_deadline=projection.periods_to_deadline,
            projected_value=projection.projected_value,
            meets_target=projection.meets_target,
            progress=projection.progress,
            fitted_latest_value=projection.fitted_latest,
            interval_low=projection.interval_low,
            interval_high=projection.interval_high,
            interval_confidence=projection.confidence,
        )


class ObjectivePeriodOut(BaseModel):
    period: str
    actual: float | None


class ObjectiveOut(BaseModel):
    metric: str
    title: str | None
    unit: str | None
    baseline: float
    target: float
    direction: str
    deadline: date
    latest_value: float | None
    progress: float | None
    periods: list[ObjectivePeriodOut]
    projection: ProjectionOut | None
    projection_insufficient_evidence: InsufficientEvidenceOut | None = None

    @classmethod
    def of(
        cls,
        objective: Objective,
        series: Series | None,
        projection: Projection | InsufficientEvidence | None,
    ) -> ObjectiveOut:
        latest = series.latest() if series is not None else None
        return cls(
            metric=objective.metric,
            title=objective.title,
            unit=objective.unit,
            baseline=objective.baseline,
            target=objective.target,
            direction=objective.direction.value,
            deadline=objective.deadline,
            latest_value=latest[1] if latest else None,
            progress=objective.progress(latest[1]) if latest else None,
            periods=[
                ObjectivePeriodOut(period=k, actual=v)
                for k, v in zip(series.keys, series.values, strict=True)
            ]
            if series is not None
            else [],
            projection=ProjectionOut.of(projection) if isinstance(projection, Projection) else None,
            projection_insufficient_evidence=InsufficientEvidenceOut.of(projection)
            if isinstance(projection, InsufficientEvidence)
            else None,
        )


class AmpmView(BaseModel):
    """Activities against targets, objectives with projections, and what moves what."""

    account_id: str
    plan_id: str
    period_unit: PeriodUnit
    activities: list[ActivityOut]
    objectives: list[ObjectiveOut]
    verdicts: list[VerdictOut] = Field(
        description="lead/lag verdicts per (activity, objective): evidence, not causation"
    )
    correlations: list[CorrelationOut] = Field(
        description="raw per-lag coefficients on the levels, for transparency only"
    )
