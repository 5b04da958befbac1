"""Settings of the correlation service (environment variables prefixed ``AMPM_``)."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property

from pydantic import Field

from services.correlation.buckets import PeriodUnit
from services.correlation.drops import DropRule
from services.correlation.event_time import EvaluationConfig
from services.correlation.risk import RiskThresholds
from shared.settings import ServiceSettings, service_env

_env = service_env("correlation")


class CorrelationSettings(ServiceSettings):
    port: int = Field(default=8002, validation_alias=_env("port"))
    consumer_group: str = Field(default="ampm-correlation", validation_alias=_env("consumer_group"))
    max_poll_records: int = Field(
        default=6000,
        ge=1,
        validation_alias=_env("max_poll_records"),
        description="Records per poll across partitions; each partition's share is applied in "
        "one transaction, the partitions concurrently.",
    )
    period_unit: PeriodUnit = Field(
        default=PeriodUnit.WEEK,
        validation_alias=_env("period_unit"),
        description="Bucket length: week (ISO weeks) or day.",
    )
    evaluation_periods: int = Field(
        default=26,
        ge=4,
        validation_alias=_env("evaluation_periods"),
        description="How many periods of buckets the rules and the AM/PM view load.",
    )
    health_change_points: float = Field(
        default=1.0,
        ge=0,
        validation_alias=_env("health_change_points"),
        description="Publish health.changed when the score moved by at least this much.",
    )
    max_lag: int = Field(
        default=4,
        ge=0,
        le=12,
        validation_alias=_env("max_lag"),
        description="Lead/lag analysis tries lags 0..max_lag periods.",
    )
    min_points: int = Field(
        default=10,
        ge=5,
        validation_alias=_env("min_points"),
        description="Periods with both series known below which a pair is insufficient evidence.",
    )
    false_discovery_rate: float = Field(
        default=0.05,
        gt=0,
        lt=0.5,
        validation_alias=_env("false_discovery_rate"),
        description="Benjamini-Hochberg level of the moves_objective verdicts, per plan and "
        "per cohort.",
    )
    cohort_alpha: float = Field(
        default=0.01,
        gt=0,
        lt=0.5,
        validation_alias=_env("cohort_alpha"),
        description="Family-wise error (Holm) of a cohort's moves_objective verdicts, which "
        "decide the ideal itinerary.",
    )
    cohort_min_accounts: int = Field(
        default=3,
        ge=3,
        validation_alias=_env("cohort_min_accounts"),
        description="Accounts with evidence needed before a cohort pools a pair.",
    )
    reorganization_role_changes: int = Field(
        default=3, ge=1, validation_alias=_env("reorganization_role_changes")
    )
    reorganization_window_days: int = Field(
        default=30, ge=1, validation_alias=_env("reorganization_window_days")
    )
    reorganization_quiet_days: int = Field(
        default=180,
        ge=1,
        validation_alias=_env("reorganization_quiet_days"),
        description="Days without a new trigger after which an unacknowledged reorganisation "
        "resolves on its own. A CSM's acknowledgement (they re-mapped the account's people) is "
        "the usual end; half a year lets a reorganisation found in a backfilled history reach "
        "the CSM, and one nobody attended to last two business reviews.",
    )
    adoption_drop_z: float = Field(
        default=3.2,
        gt=0,
        validation_alias=_env("adoption_drop_z"),
        description="How many standard errors of the account's own noise a lasting usage drop "
        "must reach (moved to the t quantile for the estimated dispersion).",
    )
    adoption_drop_min_share: float = Field(
        default=0.25,
        gt=0,
        lt=1,
        validation_alias=_env("adoption_drop_min_share"),
        description="A drop smaller than this share of the baseline is never raised.",
    )
    adoption_drop_min_expected: float = Field(
        default=10.0,
        ge=0,
        validation_alias=_env("adoption_drop_min_expected"),
        description="Usage events the baseline predicts for the dropped periods, at least.",
    )
    adoption_drop_z_robust: float = Field(
        default=2.0,
        ge=0,
        validation_alias=_env("adoption_drop_z_robust"),
        description="How far below the baseline the dropped periods must still lie without "
        "their lowest one: a drop does not rest on a single week.",
    )
    adoption_drop_single_period_z: float = Field(
        default=3.25,
        gt=0,
        validation_alias=_env("adoption_drop_single_period_z"),
        description="The z a drop seen in the latest period only must reach: one low period "
        "needs stronger evidence than a run of them.",
    )
    adoption_baseline_periods: int = Field(
        default=12,
        ge=4,
        validation_alias=_env("adoption_baseline_periods"),
        description="Periods before a suspected drop that form its baseline, at most.",
    )
    off_track_periods: int = Field(
        default=3,
        ge=1,
        validation_alias=_env("off_track_periods"),
        description="The shortest window of recent periods whose mean is tested against the "
        "tolerance's edge.",
    )
    off_track_tolerance: float = Field(
        default=0.2,
        ge=0,
        lt=1,
        validation_alias=_env("off_track_tolerance"),
        description="An activity is off track when its level is this share below (above) "
        "its target.",
    )
    off_track_z: float = Field(
        default=1.5,
        gt=0,
        validation_alias=_env("off_track_z"),
        description="How many standard errors beyond the tolerance's edge a window's mean must "
        "lie (one-sided, shared by the plan's activities, the t quantile where the noise is "
        "estimated).",
    )
    achieved_periods: int = Field(
        default=2,
        ge=1,
        validation_alias=_env("achieved_periods"),
        description="Ended periods an objective must hold its target to count as achieved.",
    )
    at_risk_confidence: float = Field(
        default=0.98,
        gt=0,
        lt=1,
        validation_alias=_env("at_risk_confidence"),
        description="Level of the projection's prediction interval: an objective is at risk "
        "only when the target lies beyond its favourable end. High, because every account is "
        "judged again each period.",
    )
    allowed_lateness_seconds: float = Field(
        default=3600.0,
        ge=0,
        validation_alias=_env("allowed_lateness_seconds"),
        description="How late an event may arrive after its period ended: a period is complete "
        "for an account once its watermark (latest occurred_at applied) passes the period's "
        "end by this much.",
    )
    outbox_poll_seconds: float = Field(
        default=0.5, gt=0, validation_alias=_env("outbox_poll_seconds")
    )
    sweep_interval_seconds: float = Field(
        default=3600.0,
        gt=0,
        validation_alias=_env("sweep_interval_seconds"),
        description="Accounts not evaluated for this long are re-evaluated without new events, "
        "and an account whose data lags the wall clock by more than a period is judged by the "
        "wall clock once no event reached it for this long.",
    )
    tail_idle_seconds: float = Field(
        default=10.0,
        ge=0,
        validation_alias=_env("tail_idle_seconds"),
        description="An account whose data reaches the period before the last one the wall "
        "clock completed is judged by the wall clock once no event reached it for this long "
        "(an account that lags further waits the sweep interval: a paused backfill is not a "
        "silent account).",
    )
    sweep_max_backlog: int = Field(
        default=1000,
        ge=0,
        validation_alias=_env("sweep_max_backlog"),
        description="Events the consumer group may have left to read for the sweeper to judge "
        "quiet accounts by the wall clock; above it the sweep waits (a backfill in progress).",
    )
    sweep_batch_size: int = Field(default=100, ge=1, validation_alias=_env("sweep_batch_size"))
    processed_event_retention_days: float = Field(
        default=14,
        gt=0,
        validation_alias=_env("processed_event_retention_days"),
        description="How long event ids are remembered to skip redeliveries; keep it longer "
        "than the events topic keeps messages.",
    )

    @property
    def thresholds(self) -> RiskThresholds:
        """The rules' thresholds from these settings."""
        return RiskThresholds(
            reorganization_role_changes=self.reorganization_role_changes,
            reorganization_window=timedelta(days=self.reorganization_window_days),
            reorganization_quiet_window=timedelta(days=self.reorganization_quiet_days),
            drop=DropRule(
                baseline_periods=self.adoption_baseline_periods,
                z_single=self.adoption_drop_single_period_z,
                z_robust=self.adoption_drop_z_robust,
                z_threshold=self.adoption_drop_z,
                min_drop_share=self.adoption_drop_min_share,
                min_expected=self.adoption_drop_min_expected,
            ),
            off_track_periods=self.off_track_periods,
            off_track_tolerance=self.off_track_tolerance,
            off_track_z=self.off_track_z,
            achieved_periods=self.achieved_periods,
            projection_confidence=self.at_risk_confidence,
        )

    @cached_property
    def evaluation(self) -> EvaluationConfig:
        """The evaluation knobs, derived once from these settings (which a service builds once,
        at start)."""
        return EvaluationConfig(
            unit=self.period_unit,
            periods=self.evaluation_periods,
            max_lag=self.max_lag,
            min_points=self.min_points,
            false_discovery_rate=self.false_discovery_rate,
            allowed_lateness=timedelta(seconds=self.allowed_lateness_seconds),
            tail_idle=timedelta(seconds=self.tail_idle_seconds),
            quiet_after=timedelta(seconds=self.sweep_interval_seconds),
            thresholds=self.thresholds,
        )

    @property
    def group_id(self) -> str:
        """The consumer group, under the topic namespace like the topics it reads."""
        return f"{self.topic_namespace}{self.consumer_group}"
