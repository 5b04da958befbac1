"""Where the plan's itinerary stands: each activity's lead/lag verdicts on the objectives and
its status as the health payload carries it. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from services.correlation.event_time import EvaluationConfig
from services.correlation.leadlag import LeadLag, Verdict, judge_plan
from services.correlation.plans import SuccessPlan
from services.correlation.series import Series
from shared.signals import ItineraryStatus


def plan_verdicts(
    plan: SuccessPlan, series: Mapping[str, Series], config: EvaluationConfig
) -> tuple[LeadLag, ...]:
    """The plan's lead/lag verdicts over ``series`` with the configured FDR control."""
    return judge_plan(
        plan,
        series,
        max_lag=config.max_lag,
        min_points=config.min_points,
        false_discovery_rate=config.false_discovery_rate,
    )


def itinerary_status(
    plan: SuccessPlan | None, series: Mapping[str, Series], config: EvaluationConfig
) -> tuple[ItineraryStatus, ...]:
    """Each activity's target, latest value and lead/lag verdict on the objectives.

    An activity's verdict is ``moves_objective`` when it moves any objective (the strongest
    such effect is reported), otherwise the best of the others. Verdicts are the costly part of
    an evaluation: only called when health is published.
    """
    if plan is None:
        return ()
    rank = {Verdict.MOVES_OBJECTIVE: 0, Verdict.NO_EVIDENCE: 1, Verdict.INSUFFICIENT_EVIDENCE: 2}
    chosen: dict[str, LeadLag] = {}
    for pair in plan_verdicts(plan, series, config):
        current = chosen.get(pair.activity_metric)
        strength = abs(pair.best.r) if pair.best else 0.0
        if current is None or (rank[pair.verdict], -strength) < (
            rank[current.verdict],
            -(abs(current.best.r) if current.best else 0.0),
        ):
            chosen[pair.activity_metric] = pair
    statuses = []
    for activity in plan.itinerary:
        known = series[activity.metric].latest() if activity.metric in series else None
        verdict = chosen.get(activity.metric)
        best = verdict.best if verdict else None
        statuses.append(
            ItineraryStatus(
                activity=activity.metric,
                title=activity.title,
                direction=activity.direction.value,
                target=activity.target_per_period,
                actual=known[1] if known else None,
                verdict=verdict.verdict.value if verdict else None,
                objective=verdict.objective_metric if verdict else None,
                lag=best.lag if best else None,
                effect_r=best.r * verdict.intended_sign if best and verdict else None,
                q_value=best.q_value if best else None,
            )
        )
    return tuple(statuses)
