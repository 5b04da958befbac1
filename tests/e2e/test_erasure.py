"""Erasure end to end on real Kafka and PostgreSQL: a person erased and a tenant deleted across
the four services and the console; afterwards no row names them, aggregates that name no one
keep their counts, and events still in flight are dropped rather than re-created."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ampm.local.processes import ServiceProcess
from ampm.migrate import import_all_tables
from shared.clock import utc_now
from shared.db import Base
from shared.events import Envelope, EventKind, EventSource
from shared.kafka import group_backlog
from shared.tenancy.store import CreatedTenant
from shared.topics import Topics
from tests.e2e.conftest import SERVICES, System, start_system, system_environment
from tests.notifier.receiver import Receiver
from tests.support.servers import serve_app
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

ACCOUNT = "erasure-account"
PERSON, NAME = "p-erase-me-7", "Dana Reyes-Erasure"
# What the erasure keeps of itself: the request, each service's progress, the suppressed
# subject's hash. They name the tenant (a vendor, not a person) and never the person.
BOOKKEEPING = {"erasures", "erasure_progress", "erased_subjects"}


@pytest.fixture
async def stack(
    base_settings: dict[str, Any], tenant: CreatedTenant, tmp_path: Path
) -> AsyncIterator[System]:
    environment = system_environment(base_settings) | {"AMPM_CORRELATION_TAIL_IDLE_SECONDS": "1"}
    system = await start_system(environment, tenant, tmp_path)
    console = ServiceProcess(
        "console",
        environment
        | {f"AMPM_CONSOLE_{name.upper()}_URL": system.url(name) for name in SERVICES}
        | {"AMPM_CONSOLE_SESSION_SECRET": "an-erasure-test-secret"},
        tmp_path,
    )
    await console.start()
    system.services["console"] = console
    try:
        yield system
    finally:
        for service in system.services.values():
            service.stop()


async def rows_of(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[str]]:
    """Every row of every table, as text (JSON columns included)."""
    import_all_tables()
    found: dict[str, list[str]] = {}
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).mappings().all()
            found[table.name] = [orjson.dumps(dict(row), default=str).decode() for row in rows]
    return found


async def post(system: System, events: list[dict[str, Any]], key: str | None = None) -> None:
    headers = {"Authorization": f"Bearer {key or system.tenant.write_key.plaintext}"}
    async with httpx.AsyncClient(headers=headers) as http:
        answer = await http.post(f"{system.url('ingest')}/v1/events", json={"events": events})
    assert answer.status_code == 200, answer.text


async def completed(system: System, path: str, headers: dict[str, str]) -> dict[str, Any]:
    async with httpx.AsyncClient(headers=headers) as http:

        async def done() -> dict[str, Any] | None:
            status = (await http.get(f"{system.url('ingest')}{path}")).json()
            return status if status["status"] == "completed" else None

        return await eventually(done, deadline_seconds=60)


async def test_an_erased_person_is_nowhere_and_stays_out(
    stack: System, sessions: async_sessionmaker[AsyncSession]
) -> None:
    system, secret = stack, stack.secret_headers()
    receiver = Receiver()
    async with serve_app(receiver.app()) as receiver_url, httpx.AsyncClient(headers=secret) as http:
        endpoint = await http.post(
            f"{system.url('notifier')}/v1/webhooks/endpoints", json={"url": receiver_url}
        )
        assert endpoint.status_code == 201
        plan = {
            "objectives": [
                {"metric": "rate", "baseline": 1, "target": 2, "direction": "up",
                 "deadline": (utc_now() + timedelta(days=90)).date().isoformat()}
            ],
            "sponsor_id": PERSON,
        }  # fmt: skip
        put = await http.put(
            f"{system.url('correlation')}/v1/accounts/{ACCOUNT}/success-plan", json=plan
        )
        assert put.status_code == 200, put.text
        now = utc_now().isoformat()
        await post(
            system,
            [
                {"kind": "lifecycle", "name": "person.identified", "account_id": ACCOUNT,
                 "person_id": PERSON, "properties": {"role": "sponsor", "name": NAME,
                                                     "title": "CEO"}},
                {"kind": "lifecycle", "name": "person.identified", "account_id": ACCOUNT,
                 "person_id": "p-stays", "properties": {"role": "user", "name": "Kim Stays"}},
                *[{"kind": "usage", "name": "report.viewed", "account_id": ACCOUNT,
                   "person_id": who, "occurred_at": now} for who in (PERSON, "p-stays")],
                {"kind": "lifecycle", "name": "stakeholder.departed", "account_id": ACCOUNT,
                 "person_id": PERSON},
            ],
        )  # fmt: skip

        async def recommended() -> bool:
            listed = await http.get(
                f"{system.url('notifier')}/v1/recommendations", params={"account_id": ACCOUNT}
            )
            return NAME in listed.text

        await eventually(recommended, deadline_seconds=60)
        value = f"{system.url('equivalents')}/v1/accounts/{ACCOUNT}/value"

        async def both_active() -> bool:
            return bool((await http.get(value)).json().get("active_people") == 2)

        await eventually(both_active, deadline_seconds=60)
        before = await rows_of(sessions)
        assert any(PERSON in row for rows in before.values() for row in rows)

        asked = await http.post(f"{system.url('ingest')}/v1/erasures", json={"person_id": PERSON})
        assert asked.status_code == 202, asked.text
        erasure = asked.json()
        assert (erasure["status"], erasure["scope"]) == ("pending", "person")
        status = await completed(system, f"/v1/erasures/{erasure['id']}", secret)
        assert all(status["services"].values())

        # Still in flight after the erasure: an event of the person (dropped), then one of
        # somebody else (kept) that tells when the consumers are past it.
        later = utc_now().isoformat()
        await post(
            system,
            [
                {"kind": "usage", "name": "report.viewed", "account_id": ACCOUNT,
                 "person_id": PERSON, "occurred_at": later},
                {"kind": "lifecycle", "name": "person.identified", "account_id": ACCOUNT,
                 "person_id": "p-marker", "properties": {"role": "user"}},
            ],
        )  # fmt: skip
        people = f"{system.url('correlation')}/v1/accounts/{ACCOUNT}/people"

        async def marker_seen() -> bool:
            return "p-marker" in (await http.get(people)).text

        await eventually(marker_seen, deadline_seconds=60)
        # The person counts as one of the two active people still, under a pseudonym.
        assert (await http.get(value)).json()["active_people"] == 2
        after = await rows_of(sessions)
        naming = {
            table: [row for row in rows if PERSON in row or NAME in row]
            for table, rows in after.items()
            if table not in BOOKKEEPING
        }
        assert {table: rows for table, rows in naming.items() if rows} == {}
        assert "Kim Stays" in (await http.get(people)).text  # the others stay


async def test_a_deleted_tenant_leaves_no_row_and_its_events_in_flight_are_dropped(
    stack: System, sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str
) -> None:
    admin = {"Authorization": f"Bearer {stack.environment['AMPM_ADMIN_TOKEN']}"}
    async with httpx.AsyncClient(headers=admin) as http:
        created = await http.post(f"{stack.url('ingest')}/v1/tenants", json={"name": "Leaving"})
    doomed = created.json()
    doomed_secret = {"Authorization": f"Bearer {doomed['secret_key']}"}
    await post(
        stack,
        [
            {"kind": "lifecycle", "name": "account.identified", "account_id": "gone",
             "properties": {"name": "Gone Ltd", "seats": 5}},
            {"kind": "usage", "name": "report.viewed", "account_id": "gone", "person_id": "u1"},
        ],
        key=doomed["write_key"],
    )  # fmt: skip
    async with httpx.AsyncClient(headers=doomed_secret) as http:

        async def counted() -> bool:
            answer = await http.get(f"{stack.url('equivalents')}/v1/accounts/gone/value")
            return answer.status_code == 200 and answer.json()["active_people"] == 1

        await eventually(counted, deadline_seconds=60)
        await http.post(
            f"{stack.url('notifier')}/v1/webhooks/endpoints",
            json={"url": "http://127.0.0.1:9/none"},
        )
    assert any(doomed["id"] in row for rows in (await rows_of(sessions)).values() for row in rows)

    async with httpx.AsyncClient(headers=admin) as http:
        deleted = await http.delete(f"{stack.url('ingest')}/v1/tenants/{doomed['id']}")
        assert deleted.status_code == 202, deleted.text
        erasure = deleted.json()
        path = f"/v1/tenants/{doomed['id']}/erasures/{erasure['id']}"
        await completed(stack, path, admin)
        again = await http.delete(f"{stack.url('ingest')}/v1/tenants/{doomed['id']}")
        assert again.status_code == 404
    async with httpx.AsyncClient(headers=doomed_secret) as http:
        assert (await http.get(f"{stack.url('correlation')}/v1/accounts")).status_code == 401

    # An event of the tenant still on the events topic when it was deleted: dropped.
    in_flight = Envelope(
        tenant_id=doomed["id"],
        account_id="gone",
        kind=EventKind.USAGE,
        name="report.viewed",
        person_id="u1",
        occurred_at=utc_now(),
        received_at=utc_now(),
        source=EventSource.REST,
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        topic = Topics(stack.environment["AMPM_TOPIC_NAMESPACE"]).events
        await producer.send_and_wait(topic, in_flight.to_value(), key=in_flight.key)
    finally:
        await producer.stop()
    namespace = stack.environment["AMPM_TOPIC_NAMESPACE"]

    async def consumed() -> bool:
        for group in (f"{namespace}ampm-correlation", f"{namespace}ampm-equivalents"):
            if await group_backlog(kafka_bootstrap, group, Topics(namespace).events):
                return False
        return True

    await eventually(consumed, deadline_seconds=60)
    left = {
        table: [row for row in rows if doomed["id"] in row]
        for table, rows in (await rows_of(sessions)).items()
        if table not in BOOKKEEPING
    }
    assert {table: rows for table, rows in left.items() if rows} == {}
