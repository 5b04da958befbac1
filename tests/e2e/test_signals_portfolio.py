"""Signals a CSM can trust, end to end: a seeded portfolio backfilled through ingest's REST API,
Kafka and PostgreSQL; every injected risk found, nothing raised on clean accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.correlation.buckets import last_complete_period
from shared.kafka import group_backlog
from shared.tenancy.store import CreatedTenant
from shared.topics import Topics
from tests.e2e.conftest import System, start_system, system_environment
from tests.support.portfolio import PortfolioAccount, batches, build_portfolio
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

SWEEP_SECONDS = 3.0


@pytest.fixture
async def quick_sweeping_system(
    base_settings: dict[str, Any], tenant: CreatedTenant, tmp_path: Path
) -> AsyncIterator[System]:
    environment = system_environment(base_settings) | {
        "AMPM_CORRELATION_SWEEP_INTERVAL_SECONDS": str(SWEEP_SECONDS),
        "AMPM_CORRELATION_TAIL_IDLE_SECONDS": str(SWEEP_SECONDS),
    }
    running = await start_system(environment, tenant, tmp_path)
    try:
        yield running
    finally:
        for service in running.services.values():
            service.stop()


async def backfill(system: System, portfolio: list[PortfolioAccount]) -> None:
    """PUT every plan, then post every account's history in event-time order."""
    async with httpx.AsyncClient(timeout=60) as http:
        for account in portfolio:
            put = await http.put(
                f"{system.url('correlation')}/v1/accounts/{account.account_id}/success-plan",
                json=account.plan,
                headers=system.secret_headers(),
            )
            assert put.status_code == 200, put.text
        history = sorted(
            (event for account in portfolio for event in account.events),
            key=lambda event: event["occurred_at"],
        )
        for body in batches(history, 1000):
            posted = await http.post(
                f"{system.url('ingest')}/v1/events",
                json={"events": body},
                headers=system.write_headers(),
            )
            assert posted.status_code == 200, posted.text


async def test_a_backfilled_portfolio_raises_every_injected_risk_and_nothing_on_clean_accounts(
    quick_sweeping_system: System,
) -> None:
    system = quick_sweeping_system
    portfolio = build_portfolio(2026, clean=6, per_risk=1, weeks=16, scale=0.5)
    await backfill(system, portfolio)
    namespace = system.environment["AMPM_TOPIC_NAMESPACE"]
    bootstrap = system.environment["AMPM_KAFKA_BOOTSTRAP_SERVERS"]

    async def read_everything() -> bool:
        group = f"{namespace}ampm-correlation"
        return await group_backlog(bootstrap, group, Topics(namespace).events) == 0

    await eventually(read_everything, deadline_seconds=240)
    base = system.url("correlation")
    signals: dict[str, list[dict[str, Any]]] = {}

    async with httpx.AsyncClient(base_url=base, headers=system.secret_headers()) as http:
        last_week = last_complete_period(datetime.now(UTC))

        async def judged_after_the_backfill() -> bool:
            # Every account judged through the last complete week: its final judgement.
            for account in portfolio:
                health = await http.get(f"/v1/accounts/{account.account_id}/health")
                if health.status_code != 200 or health.json()["judged_through"] != last_week:
                    return False
            return True

        await eventually(judged_after_the_backfill, deadline_seconds=240)
        for account in portfolio:
            listed = await http.get(f"/v1/accounts/{account.account_id}/signals")
            signals[account.account_id] = listed.json()["signals"]
        views = {
            a.account_id: (await http.get(f"/v1/accounts/{a.account_id}/ampm")).json()
            for a in portfolio
            if a.kind == "activity_off_track"
        }

    for account in portfolio:
        found = signals[account.account_id]
        if account.expected is None:
            assert found == [], (account.account_id, found)
            continue
        open_types = {s["type"] for s in found if s["state"] == "open"}
        assert account.expected in open_types, (account.account_id, found)
        raised_types = [s["type"] for s in found]
        assert len(raised_types) == len(set(raised_types)), found  # raised once, no flaps
        for signal in found:
            evidence = signal["evidence"]
            assert {"as_of", "detected_at", "catching_up"} <= set(evidence)
    # An open off-track signal shows the stored weeks, not the ones of the day it was raised.
    for account_id, view in views.items():
        (off,) = [s for s in signals[account_id] if s["type"] == "activity_off_track"]
        stored = {
            p["period"]: p["actual"]
            for a in view["activities"]
            if a["metric"] == off["subject"]
            for p in a["periods"]
        }
        assert off["evidence"]["periods"] == {k: stored[k] for k in off["evidence"]["periods"]}
