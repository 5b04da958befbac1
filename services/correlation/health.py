"""An account's health: a 0-100 score from weighted components a CSM can read one by one.

Each component is a value in 0..1, or None when the account has no data for it (no plan, no usage
yet); unknown components are left out and the remaining weights are rescaled, so the score rates
what is known rather than punishing what is not measured. Each component reports its weight and
its contribution in points, and the contributions add up to the score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from services.correlation.plans import Stakeholder, StakeholderRole, SuccessPlan
from services.correlation.series import Series
from shared.signals import SignalType

DEFAULT_WINDOW = 4
DEFAULT_RISK_SATURATION = 4


@dataclass(frozen=True)
class HealthWeights:
    """Relative weights of the components (rescaled over the known ones)."""

    adoption_trend: float = 0.25
    itinerary_adherence: float = 0.25
    objective_progress: float = 0.20
    open_risks: float = 0.15
    stakeholder_coverage: float = 0.15


@dataclass(frozen=True)
class HealthInputs:
    """Each component's value in 0..1, None when unknown; see the ``*_component`` functions."""

    adoption_trend: float | None
    itinerary_adherence: float | None
    objective_progress: float | None
    open_risks: float
    stakeholder_coverage: float


@dataclass(frozen=True)
class HealthComponent:
    """One component: its score in 0..1 (None: unknown), its configured weight and the points
    it adds to the account's score (the ``components`` of ``shared.signals.HealthPayload``)."""

    name: str
    score: float | None
    weight: float
    contribution: float


@dataclass(frozen=True)
class Health:
    score: float
    components: tuple[HealthComponent, ...]


def score_health(inputs: HealthInputs, weights: HealthWeights = HealthWeights()) -> Health:
    """Weighted mean of the known components, scaled to 0..100."""
    named = [(f.name, getattr(inputs, f.name), getattr(weights, f.name)) for f in fields(inputs)]
    known_weight = sum(weight for _, value, weight in named if value is not None)
    if known_weight <= 0:
        raise ValueError("health needs a positive weight on at least one known component")
    components = tuple(
        HealthComponent(
            name=name,
            score=value,
            weight=weight,
            contribution=0.0 if value is None else 100 * weight * value / known_weight,
        )
        for name, value, weight in named
    )
    return Health(score=sum(c.contribution for c in components), components=components)


def adoption_trend_component(usage: Series, *, window: int = DEFAULT_WINDOW) -> float | None:
    """Recent usage against the window before it: mean of the last ``window`` periods divided
    by the mean of the ``window`` before, capped at 1 (steady or growing usage is healthy).

    None until there are two full windows of known values; 1 if usage starts from nothing.
    """
    recent = usage.values[-2 * window :]
    if len(recent) < 2 * window or any(value is None for value in recent):
        return None
    known = [value for value in recent if value is not None]
    before, after = sum(known[:window]), sum(known[window:])
    if before <= 0:
        return 1.0 if after > 0 else 0.0
    return max(0.0, min(1.0, after / before))


def itinerary_adherence_component(
    plan: SuccessPlan, series: Mapping[str, Series], *, window: int = DEFAULT_WINDOW
) -> float | None:
    """Share of (activity, period) cells on target over the last ``window`` periods.

    Periods with an unknown value are not counted; None when no cell is known.
    """
    verdicts = [
        activity.is_on_target(value)
        for activity in plan.itinerary
        if activity.metric in series
        for value in series[activity.metric].values[-window:]
        if value is not None
    ]
    return sum(verdicts) / len(verdicts) if verdicts else None


def objective_progress_component(
    plan: SuccessPlan, latest_values: Mapping[str, float]
) -> float | None:
    """Mean progress from baseline to target over objectives with a value, each clipped to 0..1."""
    progress = [
        max(0.0, min(1.0, objective.progress(latest_values[objective.metric])))
        for objective in plan.objectives
        if objective.metric in latest_values
    ]
    return sum(progress) / len(progress) if progress else None


def open_risks_component(
    open_signals: Iterable[SignalType], *, saturation: int = DEFAULT_RISK_SATURATION
) -> float:
    """1 with no open risk, falling linearly to 0 at ``saturation`` open risks.

    ``objective_achieved`` is good news and does not count.
    """
    risks = sum(1 for kind in open_signals if kind is not SignalType.OBJECTIVE_ACHIEVED)
    return max(0.0, 1 - risks / saturation)


def stakeholder_coverage_component(stakeholders: Iterable[Stakeholder]) -> float:
    """Thirds for an active sponsor, an active adoption owner and at least one active supervisor."""
    active_roles = {person.role for person in stakeholders if person.is_active}
    covered = (
        StakeholderRole.SPONSOR in active_roles,
        StakeholderRole.ADOPTION_OWNER in active_roles,
        StakeholderRole.SUPERVISOR in active_roles,
    )
    return sum(covered) / len(covered)
