"""Faults while events flow: each ends with exact totals, nothing lost and nothing counted twice.

Events carry client-chosen ids and the client resends a batch after a 503 or a dropped
connection, as a real SDK does; the system's idempotence makes the totals exact anyway.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from ampm.local.kafka import read_pid, throwaway_broker
from ampm.local.paths import free_port
from ampm.local.processes import ServiceProcess
from shared.tenancy.store import CreatedTenant
from tests.conftest import PostgresServer
from tests.e2e.conftest import System, start_system, system_environment
from tests.e2e.test_end_to_end import register_endpoint, verified
from tests.notifier.receiver import Receiver
from tests.support.kafka import read_records
from tests.support.servers import serve_app

pytestmark = pytest.mark.integration

BATCH = 50
OUTAGE_SECONDS = 20
# After the broker is back, ingest answers 2xx again within this, for every account.
RECOVERY_BOUND_SECONDS = 30
WORKERS_PER_ACCOUNT = 3


def _batches(account: str, metric: str, count: int) -> list[list[dict[str, Any]]]:
    """``count`` usage events with fixed ids and values 1..count, in batches."""
    now = datetime.now(UTC).isoformat()
    run = uuid.uuid4().hex[:8]
    events = [
        {
            "id": f"{run}-{n}",
            "kind": "usage",
            "name": metric,
            "account_id": account,
            "value": float(n),
            "occurred_at": now,
        }
        for n in range(1, count + 1)
    ]
    return [events[i : i + BATCH] for i in range(0, count, BATCH)]


async def _send_until_accepted(
    client: httpx.AsyncClient, url: str, batch: list[dict[str, Any]], statuses: list[int]
) -> None:
    """Post one batch, resending the same ids until ingest acknowledges it."""
    async with asyncio.timeout(120):
        while True:
            try:
                answer = await client.post(url, json={"events": batch})
            except httpx.TransportError:
                statuses.append(0)
                await asyncio.sleep(0.2)
                continue
            statuses.append(answer.status_code)
            if answer.status_code == 200:
                return
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"]
            await asyncio.sleep(0.2)


async def _bucket_totals(
    sessions: async_sessionmaker[AsyncSession], tenant_id: str, account: str, metric: str
) -> tuple[int, float]:
    async with sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT coalesce(sum(count), 0), coalesce(sum(sum), 0) FROM corr_buckets "
                    "WHERE tenant_id = :t AND account_id = :a AND metric = :m"
                ),
                {"t": tenant_id, "a": account, "m": metric},
            )
        ).one()
    return int(row[0]), float(row[1])


async def _wait_for_totals(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: str,
    account: str,
    metric: str,
    count: int,
) -> tuple[int, float]:
    async with asyncio.timeout(90):
        while True:
            totals = await _bucket_totals(sessions, tenant_id, account, metric)
            if totals[0] >= count:
                return totals
            await asyncio.sleep(0.25)


def _expected(count: int) -> tuple[int, float]:
    return count, float(count * (count + 1) // 2)


async def _ingest_all(
    system: System,
    batches: list[list[dict[str, Any]]],
    during: Callable[[int], Any],
) -> list[int]:
    """Send every batch in order, calling ``during(i)`` before batch ``i``."""
    statuses: list[int] = []
    async with httpx.AsyncClient(headers=system.write_headers(), timeout=30) as client:
        for index, batch in enumerate(batches):
            await during(index)
            await _send_until_accepted(client, f"{system.url('ingest')}/v1/events", batch, statuses)
    return statuses


async def test_correlation_killed_mid_stream_counts_every_event_once(
    system: System, sessions: async_sessionmaker[AsyncSession]
) -> None:
    count = 1000
    batches = _batches("fault-kill", "widgets_made", count)
    correlation = system.services["correlation"]

    async def chaos(index: int) -> None:
        if index == 6:
            correlation.kill()
        if index == 14:
            await correlation.start()

    await _ingest_all(system, batches, chaos)
    totals = await _wait_for_totals(
        sessions, system.tenant.tenant.id, "fault-kill", "widgets_made", count
    )
    assert totals == _expected(count)


async def test_broker_restart_during_ingestion_loses_and_duplicates_nothing(
    base_settings: dict[str, Any],
    tenant: CreatedTenant,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    broker = throwaway_broker(tmp_path / "kafka")
    broker.start()
    await broker.wait_ready()
    environment = system_environment(
        {**base_settings, "kafka_bootstrap_servers": broker.config.bootstrap_servers}
    )
    environment["AMPM_INGEST_PUBLISH_TIMEOUT_SECONDS"] = "2"
    running = await start_system(environment, tenant, tmp_path)
    count = 600
    batches = _batches("fault-broker", "reports_sent", count)
    down_statuses: list[int] = []

    async def outage(index: int) -> None:
        if index == 4:
            broker.stop()
            # While the broker is down, ingest refuses: 503, never a 2xx.
            async with httpx.AsyncClient(headers=running.write_headers(), timeout=30) as client:
                for probe in _batches("fault-broker-probe", "probe", 3 * BATCH):
                    answer = await client.post(
                        f"{running.url('ingest')}/v1/events", json={"events": probe}
                    )
                    down_statuses.append(answer.status_code)
            broker.start()
            await broker.wait_ready()

    try:
        await _ingest_all(running, batches, outage)
        totals = await _wait_for_totals(
            sessions, tenant.tenant.id, "fault-broker", "reports_sent", count
        )
        # The broker kept what it acknowledged across the restart: all of it is on the topic.
        records = await read_records(
            broker.config.bootstrap_servers,
            f"{environment['AMPM_TOPIC_NAMESPACE']}ampm.events",
            count,
        )
    finally:
        for service in running.services.values():
            service.stop()
        broker.stop()
    assert down_statuses == [503, 503, 503]
    assert totals == _expected(count)
    assert len(records) >= count


async def test_postgres_restart_while_consumers_run(
    system: System,
    sessions: async_sessionmaker[AsyncSession],
    postgres_server: PostgresServer,
) -> None:
    if postgres_server.local is None:
        pytest.skip("needs the throwaway PostgreSQL server of the test session")
    local = postgres_server.local
    count = 800
    batches = _batches("fault-db", "invoices_matched", count)

    async def restart(index: int) -> None:
        if index == 5:
            await asyncio.to_thread(local.restart)

    await _ingest_all(system, batches, restart)
    totals = await _wait_for_totals(
        sessions, system.tenant.tenant.id, "fault-db", "invoices_matched", count
    )
    assert totals == _expected(count)


async def test_webhook_receiver_outage_then_every_message_delivered_signed(
    system: System,
) -> None:
    recorder = Receiver()
    port = free_port()
    async with serve_app(recorder.app(), port=port) as url:
        secret = await register_endpoint(system, f"{url}/hooks")
    # The receiver is down while the signals are raised.
    async with httpx.AsyncClient(headers=system.write_headers(), timeout=30) as client:
        answer = await client.post(
            f"{system.url('ingest')}/v1/events",
            json={
                "events": [
                    {
                        "kind": "lifecycle",
                        "name": "blocker.reported",
                        "account_id": "fault-hooks",
                        "properties": {"blocker_id": f"b-{n}", "description": "SSO not configured"},
                    }
                    for n in range(3)
                ]
            },
        )
    assert answer.status_code == 200, answer.text
    # Wait until the notifier has tried (and failed) each message at least once.
    notifier = system.url("notifier")
    async with httpx.AsyncClient(headers=system.secret_headers()) as client:
        async with asyncio.timeout(60):
            while True:
                page = (await client.get(f"{notifier}/v1/webhooks/messages")).json()
                failed_attempts = 0
                for message in page["data"]:
                    attempts = await client.get(
                        f"{notifier}/v1/webhooks/messages/{message['id']}/attempts"
                    )
                    failed_attempts += len(attempts.json())
                if failed_attempts >= 3:
                    break
                await asyncio.sleep(0.2)

    async with serve_app(recorder.app(), port=port):

        def delivered() -> bool:
            raised = [
                p for p in verified(recorder, "/hooks", secret) if p["type"] == "signal.raised"
            ]
            return len(raised) >= 3

        await recorder.wait_until(delivered, deadline_seconds=60)
        succeeded = recorder.succeeded("/hooks")
    ids = [r.webhook_id for r in succeeded]
    assert len(ids) == len(set(ids)), "a message was delivered twice"
    webhook = Webhook(secret)
    for delivery in succeeded:
        webhook.verify(delivery.body, delivery.headers)
    blockers = {
        p["data"]["subject"]
        for p in verified(recorder, "/hooks", secret)
        if p["type"] == "signal.raised"
    }
    assert blockers == {"b-0", "b-1", "b-2"}


async def test_ingest_heals_after_a_long_broker_outage_with_traffic_on_every_partition(
    base_settings: dict[str, Any],
    tenant: CreatedTenant,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    """Events stream for six accounts (every partition) while the broker is down for 20 s:
    ingest answers 503 meanwhile, 2xx again within RECOVERY_BOUND_SECONDS of the restart for
    every account, by itself, and every acknowledged event is counted exactly once."""
    broker = throwaway_broker(tmp_path / "kafka")
    broker.start()
    await broker.wait_ready()
    environment = system_environment(
        {**base_settings, "kafka_bootstrap_servers": broker.config.bootstrap_servers}
    )
    environment["AMPM_INGEST_PUBLISH_TIMEOUT_SECONDS"] = "2"
    running = await start_system(environment, tenant, tmp_path)
    accounts = [f"heal-{n}" for n in range(6)]
    sent: dict[str, int] = dict.fromkeys(accounts, 0)
    back_at: list[float] = []
    recovered: dict[str, float] = {}
    stop = asyncio.Event()
    all_recovered = asyncio.Event()
    run = uuid.uuid4().hex[:8]

    async def stream(account: str, worker: int) -> None:
        # Several requests in flight per account, as SDKs flushing concurrently do: records
        # that expire in the producer during the outage leave gaps in its sequence numbers.
        url = f"{running.url('ingest')}/v1/events"
        async with httpx.AsyncClient(headers=running.write_headers(), timeout=30) as client:
            n = 0
            while not stop.is_set():
                event = {
                    "id": f"{run}-{account}-{worker}-{n}",
                    "kind": "usage",
                    "name": "heal_events",
                    "account_id": account,
                    "value": 1.0,
                    "occurred_at": datetime.now(UTC).isoformat(),
                }
                await _send_until_accepted(client, url, [event], [])
                n += 1
                sent[account] += 1
                if back_at and account not in recovered:
                    recovered[account] = asyncio.get_running_loop().time() - back_at[0]
                    if len(recovered) == len(accounts):
                        all_recovered.set()
                await asyncio.sleep(0.9)  # about 20 events/s over six accounts x 3 workers

    try:
        streams = [
            asyncio.create_task(stream(account, worker))
            for account in accounts
            for worker in range(WORKERS_PER_ACCOUNT)
        ]
        await asyncio.sleep(3)
        os.kill(read_pid(broker.config.pid_file) or 0, signal.SIGKILL)  # a crash, no clean stop
        await asyncio.sleep(OUTAGE_SECONDS)
        broker.start()
        await broker.wait_ready()
        back_at.append(asyncio.get_running_loop().time())
        async with asyncio.timeout(RECOVERY_BOUND_SECONDS):
            await all_recovered.wait()
        await asyncio.sleep(3)  # and it keeps flowing
        stop.set()
        await asyncio.gather(*streams)
        totals = {
            account: await _wait_for_totals(
                sessions, tenant.tenant.id, account, "heal_events", sent[account]
            )
            for account in accounts
        }
    finally:
        stop.set()
        for service in running.services.values():
            service.stop()
        broker.stop()
    assert max(recovered.values()) < RECOVERY_BOUND_SECONDS
    assert totals == {a: (sent[a], float(sent[a])) for a in accounts}


async def test_correlation_instances_joining_and_leaving_mid_stream_count_and_raise_once(
    system: System, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """A second correlation instance joins the group mid-stream and leaves gracefully, a third
    joins and is SIGKILLed: every event is counted once per account, every blocker is raised
    once (in the signals table and on the outbox)."""
    accounts = [f"scale-{n}" for n in range(6)]
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC).isoformat()
    events: list[dict[str, Any]] = []
    for n in range(1200):
        account = accounts[n % len(accounts)]
        events.append(
            {"id": f"{run}-{n}", "kind": "usage", "name": "scaled_events",
             "account_id": account, "value": 1.0, "occurred_at": now}
        )  # fmt: skip
        if n % 100 == 0:
            events.append(
                {"id": f"{run}-blocker-{n}", "kind": "lifecycle", "name": "blocker.reported",
                 "account_id": account, "occurred_at": now,
                 "properties": {"blocker_id": f"{run}-b{n}", "summary": "SSO"}}
            )  # fmt: skip
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
    second = ServiceProcess("correlation", system.environment, tmp_path)
    third = ServiceProcess("correlation", system.environment, tmp_path)

    async def scale(index: int) -> None:
        if index == 4:
            await second.start()
        if index == 10:
            second.stop()  # leaves gracefully: its partitions are handed back
        if index == 14:
            await third.start()
        if index == 20:
            third.kill()  # leaves without a word: the session timeout hands them back

    try:
        await _ingest_all(system, batches, scale)
        totals = {
            account: await _wait_for_totals(
                sessions, system.tenant.tenant.id, account, "scaled_events", 200
            )
            for account in accounts
        }
    finally:
        second.stop()
        third.kill()
    assert totals == dict.fromkeys(accounts, (200, 200.0))
    blockers = [f"{run}-b{n}" for n in range(0, 1200, 100)]
    async with asyncio.timeout(60):
        while True:
            async with sessions() as session:
                raised = (
                    await session.execute(
                        text(
                            "SELECT subject, count(*) FROM corr_signals WHERE tenant_id = :t "
                            "AND signal_type = 'blocker_reported' GROUP BY subject"
                        ),
                        {"t": system.tenant.tenant.id},
                    )
                ).all()
                published = (
                    await session.execute(
                        text(
                            "SELECT payload FROM corr_outbox WHERE tenant_id = :t "
                            "AND payload::jsonb ->> 'signal_type' = 'blocker_reported'"
                        ),
                        {"t": system.tenant.tenant.id},
                    )
                ).all()
            if len(raised) == len(blockers) and len(published) >= len(blockers):
                break
            await asyncio.sleep(0.5)
    assert dict(raised) == dict.fromkeys(blockers, 1)
    subjects = [row[0]["subject"] for row in published if row[0]["type"] == "signal.raised"]
    assert sorted(subjects) == sorted(blockers)
