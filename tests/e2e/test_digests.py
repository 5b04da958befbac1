"""Value digests end to end: usage in, one signed ``value.digest`` per account and period out,
across restarts of the equivalents service and the notifier."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.equivalents.tables import DigestRow
from shared.tenancy.store import CreatedTenant
from tests.e2e.conftest import System, start_system, system_environment
from tests.e2e.test_end_to_end import post_events, register_endpoint, verified
from tests.notifier.receiver import Receiver
from tests.support.servers import serve_app

pytestmark = pytest.mark.integration

ACCOUNTS = ("digest-acme", "digest-globex", "digest-initech")


@pytest.fixture
async def digesting_system(
    base_settings: dict[str, Any], tenant: CreatedTenant, tmp_path: Path
) -> AsyncIterator[System]:
    environment = system_environment(base_settings) | {
        "AMPM_EQUIVALENTS_DIGEST_POLL_SECONDS": "0.5",
        "AMPM_EQUIVALENTS_DIGEST_DELAY_SECONDS": "0",
    }
    running = await start_system(environment, tenant, tmp_path)
    try:
        yield running
    finally:
        for service in running.services.values():
            service.stop()


def _last_week_usage(now: datetime) -> list[dict[str, Any]]:
    monday = (now - timedelta(days=now.weekday() + 7)).replace(hour=9, minute=0, second=0)
    return [
        {
            "kind": "usage",
            "name": "transactions_processed",
            "account_id": account,
            "person_id": f"{account}-user-{day % 2}",
            "value": 100 * (index + 1),
            "occurred_at": (monday + timedelta(days=day)).isoformat(),
        }
        for index, account in enumerate(ACCOUNTS)
        for day in range(5)
    ]


async def test_each_account_gets_one_verified_digest_per_period_across_restarts(
    digesting_system: System, sessions: async_sessionmaker[AsyncSession]
) -> None:
    system = digesting_system
    recorder = Receiver()
    async with serve_app(recorder.app()) as url:
        secret = await register_endpoint(system, f"{url}/value")
        async with httpx.AsyncClient(headers=system.secret_headers()) as client:
            settings = await client.put(
                f"{system.url('equivalents')}/v1/equivalents/parameters",
                json={"params": {"minutes_per_transaction": 3}},
            )
            assert settings.status_code == 200, settings.text
        await post_events(system, _last_week_usage(datetime.now(UTC)))

        def digests() -> list[dict[str, Any]]:
            return [p for p in verified(recorder, "/value", secret) if p["type"] == "value.digest"]

        await recorder.wait_until(lambda: len(digests()) == len(ACCOUNTS), deadline_seconds=60)
        first = {d["data"]["account_id"]: d["data"] for d in digests()}
        assert set(first) == set(ACCOUNTS)
        # 5 days x 100 transactions x 3 min = 25 h for the first account, and so on.
        work = {e["id"]: e for e in first["digest-acme"]["feel_good"]}["work_time_saved"]
        assert work["value"] == pytest.approx(25)
        assert work["text"] == "about 25 h of manual work eliminated"

        # A crash after publishing and before recording it: the digests go out again, with
        # the same ids, and both services restart; nobody receives a period twice.
        async with sessions.begin() as session:
            await session.execute(
                update(DigestRow)
                .where(DigestRow.account_id.in_(ACCOUNTS))
                .values(published_at=None)
            )
        for name in ("equivalents", "notifier"):
            system.services[name].kill()
        await asyncio.gather(*(system.services[n].start() for n in ("equivalents", "notifier")))
        async with sessions() as session:
            await _republished(session)
        await asyncio.sleep(3)  # the notifier consumes what was republished meanwhile

        per_period = Counter((d["data"]["account_id"], d["data"]["period"]) for d in digests())
        assert all(count == 1 for count in per_period.values()), per_period
        assert len(per_period) == len(ACCOUNTS)

    async with httpx.AsyncClient(headers=system.secret_headers()) as client:
        listed = await client.get(f"{system.url('equivalents')}/v1/accounts/digest-acme/digests")
    assert listed.status_code == 200, listed.text
    (stored,) = listed.json()["digests"]
    assert stored == first["digest-acme"]


async def _republished(session: AsyncSession) -> None:
    """Wait until the restarted equivalents service published the digests again."""
    async with asyncio.timeout(30):
        while True:
            pending = await session.scalars(
                select(DigestRow.account_id).where(
                    DigestRow.account_id.in_(ACCOUNTS), DigestRow.published_at.is_(None)
                )
            )
            if not pending.all():
                return
            await session.rollback()
            await asyncio.sleep(0.3)
