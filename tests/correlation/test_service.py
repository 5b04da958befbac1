"""The correlation service end to end: real Kafka, PostgreSQL and HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.correlation import bucket_store
from services.correlation.app import create_app
from services.correlation.consumer import subscription
from services.correlation.evaluation import USAGE_METRIC
from services.correlation.handlers import process_records
from services.correlation.settings import CorrelationSettings
from services.correlation.tables import AccountRow, OutboxRow, PersonRow
from shared.consuming import subscribed_consumer
from shared.events import Envelope, EventKind
from shared.service import bootstrap_topics
from shared.signals import SignalChange, SignalChangeType, SignalType
from shared.tenancy.store import CreatedTenant
from shared.topics import Topics
from tests.correlation import northwind
from tests.correlation.support import (
    committed_total,
    envelope,
    publish,
    read_to_end,
    record,
)
from tests.support.servers import serve_app
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(base_settings: dict[str, object]) -> CorrelationSettings:
    return CorrelationSettings(
        **base_settings,  # type: ignore[arg-type]
        consumer_group=f"correlation-{base_settings['topic_namespace']}",
        outbox_poll_seconds=0.1,
        tail_idle_seconds=0.5,
    )


@pytest.fixture
async def topics(settings: CorrelationSettings) -> Topics:
    return await bootstrap_topics(settings)


@pytest.fixture
async def client(settings: CorrelationSettings, topics: Topics) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serve_app(create_app(settings)) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
    ):
        yield http


def auth(tenant: CreatedTenant) -> dict[str, str]:
    return {"authorization": f"Bearer {tenant.secret_key.plaintext}"}


async def usage_totals(
    sessions: async_sessionmaker[AsyncSession], tenant_id: str, account_id: str
) -> dict[str, tuple[int, float]]:
    async with sessions() as session:
        return await bucket_store.metric_totals(session, tenant_id, account_id)


async def outbox_drained(sessions: async_sessionmaker[AsyncSession], tenant_id: str) -> bool:
    """Whether every signal change of the tenant's outbox has been published."""
    async with sessions() as session:
        unsent = await session.scalar(
            select(func.count())
            .select_from(OutboxRow)
            .where(OutboxRow.tenant_id == tenant_id, OutboxRow.sent_at.is_(None))
        )
    return unsent == 0


async def test_redelivered_batch_after_a_crash_before_the_offset_commit_counts_once(
    settings: CorrelationSettings,
    topics: Topics,
    tenant: CreatedTenant,
    sessions: async_sessionmaker[AsyncSession],
    kafka_bootstrap: str,
) -> None:
    tenant_id = tenant.tenant.id
    now = datetime.now(UTC) - timedelta(days=1)
    # A person's events arrive before the group call that links them to the account: they wait
    # in the pending table and are attributed once the link arrives.
    before_link = [envelope(tenant_id, "report.viewed", now, person_id="anon-1") for _ in range(5)]
    link = envelope(
        tenant_id,
        "account.identified",
        now,
        kind=EventKind.LIFECYCLE,
        account_id="acme",
        person_id="anon-1",
        # As a Segment group call arrives: ingest's transport metadata beside the traits.
        properties={"name": "Acme", "segment": "smb", "_segment": {"type": "group"}},
    )
    direct = [
        envelope(tenant_id, "report.viewed", now - timedelta(days=7 * (i % 3)), account_id="acme")
        for i in range(20)
    ]
    after_link = [envelope(tenant_id, "report.viewed", now, person_id="anon-1") for _ in range(5)]
    await publish(kafka_bootstrap, topics.events, [*before_link, link, *direct, *after_link])
    await publish(kafka_bootstrap, topics.events, [before_link[0]])  # a duplicate id

    # The "crashed" instance: processes every record, commits the database, never the offsets.
    consumer = subscribed_consumer(settings, subscription(settings), topics)
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(30):
            while len(records) < 32:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    await process_records(sessions, batch, settings)
                    records.extend(batch)
    finally:
        await consumer.stop()
    first = await usage_totals(sessions, tenant_id, "acme")
    assert first["report.viewed"] == (30, 30.0)
    async with sessions() as session:
        account = await session.get(AccountRow, (tenant_id, "acme"))
    assert account is not None and account.traits == {"name": "Acme", "segment": "smb"}
    assert first[USAGE_METRIC][0] == 30
    assert await committed_total(kafka_bootstrap, settings.group_id) == 0

    # The restarted service reads the same records again from the last committed offset.
    async with serve_app(create_app(settings)):

        async def caught_up() -> bool:
            return await committed_total(kafka_bootstrap, settings.group_id) == 32

        await eventually(caught_up)
    assert await usage_totals(sessions, tenant_id, "acme") == first


async def test_northwind_ampm_view_shows_the_leading_activity_projection_and_targets(
    client: httpx.AsyncClient,
    topics: Topics,
    tenant: CreatedTenant,
    other_tenant: CreatedTenant,
    kafka_bootstrap: str,
) -> None:
    now = datetime.now(UTC)
    deadline = date(now.year, 12, 31)
    response = await client.put(
        f"/v1/accounts/{northwind.ACCOUNT}/success-plan",
        json=northwind.plan_body(deadline),
        headers=auth(tenant),
    )
    assert response.status_code == 200, response.text
    await publish(kafka_bootstrap, topics.events, northwind.events(tenant.tenant.id, now))

    view: dict[str, Any] = {}

    async def all_weeks_in() -> bool:
        nonlocal view
        got = await client.get(f"/v1/accounts/{northwind.ACCOUNT}/ampm", headers=auth(tenant))
        view = got.json()
        objective = view["objectives"][0]
        return [p["actual"] for p in objective["periods"]] == [
            northwind.conversion_rate(w) for w in range(12)
        ]

    await eventually(all_weeks_in)
    weeks = northwind.weeks(now)
    verdicts = {(v["activity"], v["objective"]): v for v in view["verdicts"]}
    leading = verdicts[(northwind.LEADING, northwind.KPI)]
    assert (leading["verdict"], leading["lag"]) == ("moves_objective", northwind.LEAD_WEEKS)
    assert leading["q_value"] < 0.05 and leading["ci_low"] > 0
    constant = verdicts[("lead_gen_fte", northwind.KPI)]
    assert (constant["verdict"], constant["reason"]) == ("insufficient_evidence", "constant_series")
    # The raw coefficients stay visible, beside the verdicts.
    raw = {(c["activity"], c["objective"]): c for c in view["correlations"]}
    lag_two = raw[(northwind.LEADING, northwind.KPI)]["lags"][2]
    assert lag_two["n"] == 10 and lag_two["pearson_r"] == pytest.approx(1.0)
    assert lag_two["spearman_rho"] > 0.99

    activities = {a["metric"]: a for a in view["activities"]}
    contacts = activities[northwind.LEADING]["periods"]
    assert [p["period"] for p in contacts] == weeks
    assert [p["actual"] for p in contacts] == [float(c) for c in northwind.CONTACTS]
    assert [p["on_target"] for p in contacts] == [c >= 25 for c in northwind.CONTACTS]
    assert activities["cold_calls"]["periods"][-1] == {
        "period": weeks[-1],
        "actual": 0.0,
        "target": 0.0,
        "on_target": True,
    }
    objective = view["objectives"][0]
    assert objective["latest_value"] == northwind.conversion_rate(11)
    projection = objective["projection"]
    assert projection["points"] == 12
    assert projection["slope_per_period"] > 0
    assert (
        projection["deadline_period"]
        == f"{deadline.isocalendar()[0]}-W{deadline.isocalendar()[1]:02d}"
    )

    # Its data ends in the last complete week: judged by the wall clock once it is idle.
    async def judged() -> bool:
        got = await client.get(f"/v1/accounts/{northwind.ACCOUNT}/health", headers=auth(tenant))
        if got.status_code != 200:
            return False
        components = {c["name"]: c["score"] for c in got.json()["components"]}
        return components["objective_progress"] is not None

    await eventually(judged)
    health = await client.get(f"/v1/accounts/{northwind.ACCOUNT}/health", headers=auth(tenant))
    assert health.status_code == 200
    body = health.json()
    assert sum(c["contribution"] for c in body["components"]) == pytest.approx(
        body["score"], abs=0.1
    )

    # Another tenant sees none of it.
    for path in ("success-plan", "ampm", "health", "signals"):
        hidden = await client.get(
            f"/v1/accounts/{northwind.ACCOUNT}/{path}", headers=auth(other_tenant)
        )
        assert hidden.status_code == 404, path
        assert hidden.json()["error"]["code"] == "account_not_found"
    listed = await client.get("/v1/accounts", headers=auth(other_tenant))
    assert listed.json()["accounts"] == []
    mine = await client.get("/v1/accounts", headers=auth(tenant))
    assert [a["account_id"] for a in mine.json()["accounts"]] == [northwind.ACCOUNT]


async def test_a_plan_breaking_a_rule_is_rejected_naming_the_field(
    client: httpx.AsyncClient, tenant: CreatedTenant
) -> None:
    body = northwind.plan_body(date(2026, 12, 31))
    body["objectives"][0]["target"] = 1.0  # below the baseline of an "up" objective
    response = await client.put("/v1/accounts/a1/success-plan", json=body, headers=auth(tenant))
    assert response.status_code == 422
    assert response.json()["error"]["field"].startswith("objectives[0]")
    unauthenticated = await client.get("/v1/accounts")
    assert unauthenticated.status_code == 401


async def test_an_event_twice_in_one_batch_counts_once(
    settings: CorrelationSettings,
    tenant: CreatedTenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    tenant_id = tenant.tenant.id
    moment = datetime.now(UTC) - timedelta(days=1)
    repeated = envelope(tenant_id, "report.viewed", moment, account_id="twice", value=3.0)
    other = envelope(tenant_id, "report.viewed", moment, account_id="twice", value=4.0)
    batch = [record(repeated, 0), record(other, 1), record(repeated, 2)]
    assert await process_records(sessions, batch, settings) == []
    assert (await usage_totals(sessions, tenant_id, "twice"))["report.viewed"] == (2, 7.0)


async def test_sponsor_departure_is_raised_once_and_resolved_once_by_a_successor(
    client: httpx.AsyncClient,
    settings: CorrelationSettings,
    topics: Topics,
    tenant: CreatedTenant,
    sessions: async_sessionmaker[AsyncSession],
    kafka_bootstrap: str,
) -> None:
    tenant_id = tenant.tenant.id
    account = "globex"
    body = northwind.plan_body(date(2026, 12, 31))
    body["sponsor_id"] = "p-ceo"
    response = await client.put(
        f"/v1/accounts/{account}/success-plan", json=body, headers=auth(tenant)
    )
    assert response.status_code == 200
    now = datetime.now(UTC)

    def lifecycle(name: str, person: str, **properties: Any) -> Any:
        return envelope(
            tenant_id,
            name,
            now,
            kind=EventKind.LIFECYCLE,
            account_id=account,
            person_id=person,
            properties=properties,
        )

    await publish(
        kafka_bootstrap,
        topics.events,
        [lifecycle("person.identified", "p-ceo", role="sponsor", title="CEO")],
    )
    await publish(
        kafka_bootstrap,
        topics.events,
        [lifecycle("stakeholder.departed", "p-ceo", role="sponsor")],
    )

    async def sponsor_changes() -> list[SignalChange]:
        changes = [
            SignalChange.from_value(r.value or b"")
            for r in await read_to_end(kafka_bootstrap, topics.signals, settings.topic_partitions)
        ]
        return [c for c in changes if c.signal_type is SignalType.SPONSOR_DEPARTURE]

    async def raised() -> bool:
        return len(await sponsor_changes()) >= 1

    await eventually(raised)
    open_signals = await client.get(
        f"/v1/accounts/{account}/signals", params={"state": "open"}, headers=auth(tenant)
    )
    assert SignalType.SPONSOR_DEPARTURE in [s["type"] for s in open_signals.json()["signals"]]

    await publish(
        kafka_bootstrap,
        topics.events,
        [lifecycle("person.identified", "p-cfo", role="sponsor", title="CFO")],
    )

    async def resolved_and_drained() -> bool:
        drained = await outbox_drained(sessions, tenant_id)
        return drained and len(await sponsor_changes()) >= 2

    await eventually(resolved_and_drained)
    changes = await sponsor_changes()
    assert [c.type for c in changes] == [SignalChangeType.RAISED, SignalChangeType.RESOLVED]
    raised_change, resolved_change = changes
    assert raised_change.signal_id == resolved_change.signal_id
    assert raised_change.evidence["departed_sponsor_ids"] == ["p-ceo"]
    assert resolved_change.evidence["sponsor_ids"] == ["p-cfo"]
    assert raised_change.key == f"{tenant_id}:{account}".encode()
    assert raised_change.id != resolved_change.id

    everything = [
        SignalChange.from_value(r.value or b"")
        for r in await read_to_end(kafka_bootstrap, topics.signals, settings.topic_partitions)
    ]
    health = [
        c.health
        for c in everything
        if c.type is SignalChangeType.HEALTH_CHANGED and c.account_id == account
    ]
    assert health and all(h is not None for h in health)
    latest = health[-1]
    assert latest is not None and {s.activity for s in latest.itinerary} >= {"cold_calls"}
    assert set(latest.components) >= {"open_risks", "stakeholder_coverage"}


async def test_a_sponsors_history_sent_out_of_order_still_leaves_the_departure_open(
    client: httpx.AsyncClient,
    settings: CorrelationSettings,
    topics: Topics,
    tenant: CreatedTenant,
    sessions: async_sessionmaker[AsyncSession],
    kafka_bootstrap: str,
) -> None:
    """A backfill that sends the departure before the older identify (parallel uploads do)
    must end where the history in time order ends: the sponsor gone, the signal raised once."""
    tenant_id, account = tenant.tenant.id, "initech"
    now = datetime.now(UTC)

    def lifecycle(name: str, at: datetime, **properties: Any) -> Any:
        return envelope(tenant_id, name, at, kind=EventKind.LIFECYCLE, account_id=account,
                        person_id="p-vp", properties=properties)  # fmt: skip

    await publish(
        kafka_bootstrap,
        topics.events,
        [
            lifecycle("stakeholder.departed", now - timedelta(days=3), role="sponsor"),
            lifecycle("person.identified", now - timedelta(days=60), role="sponsor", title="VP"),
        ],
    )

    async def late_identify_applied() -> bool:
        async with sessions() as session:
            row = await session.get(PersonRow, (tenant_id, "p-vp"))
            return row is not None and row.title == "VP"

    async def changes() -> list[SignalChange]:
        values = await read_to_end(kafka_bootstrap, topics.signals, settings.topic_partitions)
        found = [SignalChange.from_value(r.value or b"") for r in values]
        return [c for c in found if c.account_id == account and c.signal_type is not None]

    async def settled() -> bool:
        return await outbox_drained(sessions, tenant_id) and bool(await changes())

    await eventually(late_identify_applied)
    await eventually(settled)
    listed = await client.get(
        f"/v1/accounts/{account}/signals", params={"state": "open"}, headers=auth(tenant)
    )
    assert [s["type"] for s in listed.json()["signals"]] == [SignalType.SPONSOR_DEPARTURE]
    assert [(c.signal_type, c.type) for c in await changes()] == [
        (SignalType.SPONSOR_DEPARTURE, SignalChangeType.RAISED)
    ]


async def test_a_blocker_resolved_before_its_late_report_arrives_stays_resolved(
    client: httpx.AsyncClient,
    settings: CorrelationSettings,
    topics: Topics,
    tenant: CreatedTenant,
    kafka_bootstrap: str,
) -> None:
    """The resolution of a blocker posted before its older report (a backfill out of order):
    the history says resolved, so nothing is open and nothing was raised."""
    tenant_id, account = tenant.tenant.id, "umbrella"
    now = datetime.now(UTC)
    events = [
        envelope(tenant_id, name, at, kind=EventKind.LIFECYCLE, account_id=account,
                 properties={"blocker_id": "sso", "summary": "SSO not enabled"})
        for name, at in (("blocker.resolved", now - timedelta(days=2)),
                         ("blocker.reported", now - timedelta(days=20)))
    ]  # fmt: skip
    await publish(kafka_bootstrap, topics.events, events)

    async def both_applied() -> bool:
        return await committed_total(kafka_bootstrap, settings.group_id) == len(events)

    await eventually(both_applied)
    listed = await client.get(f"/v1/accounts/{account}/signals", headers=auth(tenant))
    assert listed.status_code == 200 and listed.json()["signals"] == []


async def test_an_acknowledged_reorganization_resolves(
    client: httpx.AsyncClient,
    topics: Topics,
    tenant: CreatedTenant,
    kafka_bootstrap: str,
) -> None:
    account = "initech"
    now = datetime.now(UTC)
    event = envelope(
        tenant.tenant.id,
        "org.reorganized",
        now - timedelta(minutes=5),
        kind=EventKind.LIFECYCLE,
        account_id=account,
        properties={"reason": "merger"},
    )
    await publish(kafka_bootstrap, topics.events, [event])
    signals: list[dict[str, Any]] = []

    async def raised() -> bool:
        nonlocal signals
        response = await client.get(
            f"/v1/accounts/{account}/signals", params={"state": "open"}, headers=auth(tenant)
        )
        signals = response.json().get("signals", []) if response.status_code == 200 else []
        return any(s["type"] == "reorganization" for s in signals)

    await eventually(raised)
    (signal,) = [s for s in signals if s["type"] == "reorganization"]
    assert signal["evidence"]["cause"] == "org.reorganized"
    missing = await client.post(
        f"/v1/accounts/{account}/signals/no-such-id/acknowledge", headers=auth(tenant)
    )
    assert missing.status_code == 404
    acknowledged = await client.post(
        f"/v1/accounts/{account}/signals/{signal['id']}/acknowledge", headers=auth(tenant)
    )
    assert acknowledged.status_code == 200
    assert acknowledged.json()["state"] == "resolved"
    assert acknowledged.json()["acknowledged_at"] is not None


async def test_a_csm_tool_reads_the_account_its_people_and_deletes_the_plan(
    client: httpx.AsyncClient,
    topics: Topics,
    tenant: CreatedTenant,
    kafka_bootstrap: str,
) -> None:
    tenant_id, account = tenant.tenant.id, "initech"
    body = northwind.plan_body(date(2026, 12, 31))
    body["sponsor_id"], body["adoption_owner_id"] = "p-vp", "p-ops"
    put = await client.put(f"/v1/accounts/{account}/success-plan", json=body, headers=auth(tenant))
    assert put.status_code == 200
    now = datetime.now(UTC)

    def person(person_id: str, **properties: Any) -> Envelope:
        return envelope(
            tenant_id,
            "person.identified",
            now,
            kind=EventKind.LIFECYCLE,
            account_id=account,
            person_id=person_id,
            properties=properties,
        )

    identified = envelope(
        tenant_id,
        "account.identified",
        now,
        kind=EventKind.LIFECYCLE,
        account_id=account,
        properties={"name": "Initech", "segment": "mid", "seats": 40},
    )
    people = [
        person("p-vp", name="Dana Reyes", title="VP Sales", role="Executive Sponsor"),
        person("p-ops", name="Sam Lee", title="Sales Ops", role="adoption_owner"),
        person("p-lead", name="Kim Park", title="Team Lead", role="supervisor"),
        person("p-ae", name="Ann Bell", role="user", supervisor_id="p-lead"),
    ]
    departed = envelope(
        tenant_id,
        "stakeholder.departed",
        now,
        kind=EventKind.LIFECYCLE,
        account_id=account,
        person_id="p-vp",
    )
    await publish(kafka_bootstrap, topics.events, [identified, *people, departed])

    async def raised() -> dict[str, Any] | None:
        got = (await client.get(f"/v1/accounts/{account}", headers=auth(tenant))).json()
        return got if got.get("open_signals", {}).get("sponsor_departure") else None

    detail = await eventually(raised)
    assert (detail["name"], detail["segment"], detail["seats"]) == ("Initech", "mid", 40)
    assert detail["open_by_category"] == {"bad_weather": 1}
    assert detail["plan"]["sponsor_id"] == "p-vp" and detail["plan"]["activities"] == len(
        body["itinerary"]
    )
    assert detail["created_at"].endswith("Z")

    listed = (await client.get(f"/v1/accounts/{account}/people", headers=auth(tenant))).json()
    by_id = {p["person_id"]: p for p in listed["people"]}
    assert by_id["p-vp"]["stakeholder_role"] == "sponsor"  # "Executive Sponsor" is a sponsor
    assert (by_id["p-vp"]["plan_role"], by_id["p-vp"]["status"]) == ("sponsor", "departed")
    assert by_id["p-ops"]["plan_role"] == "adoption_owner"
    assert (by_id["p-ae"]["supervisor_id"], by_id["p-ae"]["name"]) == ("p-lead", "Ann Bell")

    signals = await client.get(f"/v1/accounts/{account}/signals", headers=auth(tenant))
    (departure,) = [s for s in signals.json()["signals"] if s["type"] == "sponsor_departure"]
    assert departure["evidence"]["departed_sponsors"] == [
        {"person_id": "p-vp", "name": "Dana Reyes", "title": "VP Sales"}
    ]

    deleted = await client.delete(f"/v1/accounts/{account}/success-plan", headers=auth(tenant))
    assert deleted.status_code == 204
    again = await client.delete(f"/v1/accounts/{account}/success-plan", headers=auth(tenant))
    assert again.status_code == 404 and again.json()["error"]["code"] == "plan_not_found"
    gone = await client.get(f"/v1/accounts/{account}/success-plan", headers=auth(tenant))
    assert gone.status_code == 404
    after = (await client.get(f"/v1/accounts/{account}", headers=auth(tenant))).json()
    assert after["plan"] is None
    unknown = await client.get("/v1/accounts/nobody", headers=auth(tenant))
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "account_id"
