"""Usage events on the real events topic become account value, counted once, per tenant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.equivalents import handlers
from shared.events import Envelope, EventKind, EventSource
from shared.tenancy.store import CreatedTenant
from tests.equivalents.conftest import Service, auth, error_of
from tests.support.kafka import read_records
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def usage(
    tenant: CreatedTenant,
    account: str,
    metric: str,
    value: float,
    *,
    unit: str | None = None,
    person: str | None = None,
    event_id: str | None = None,
    days_ago: int = 0,
) -> Envelope:
    moment = datetime.now(UTC) - timedelta(days=days_ago)
    return Envelope(
        id=event_id or uuid.uuid4().hex,
        tenant_id=tenant.tenant.id,
        account_id=account,
        person_id=person,
        kind=EventKind.USAGE,
        name=metric,
        value=value,
        unit=unit,
        occurred_at=moment,
        received_at=moment,
        source=EventSource.REST,
    )


def identified(tenant: CreatedTenant, account: str, seats: int) -> Envelope:
    moment = datetime.now(UTC)
    return Envelope(
        tenant_id=tenant.tenant.id,
        account_id=account,
        kind=EventKind.LIFECYCLE,
        name="account.identified",
        properties={"traits": {"seats": seats, "plan": "growth"}},
        occurred_at=moment,
        received_at=moment,
        source=EventSource.SEGMENT,
    )


async def value_when(
    service: Service,
    tenant: CreatedTenant,
    account: str,
    metric: str,
    total: float,
    query: str = "",
) -> dict[str, Any]:
    """The account value once ``metric`` reached ``total`` (waits for the consumer)."""

    async def probe() -> dict[str, Any] | None:
        response = await service.http.get(
            f"/v1/accounts/{account}/value{query}", headers=auth(tenant)
        )
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        reached = sum(t["total"] for t in body["totals"] if t["metric"] == metric)
        return body if reached == pytest.approx(total) else None

    return await eventually(probe)


async def test_solar_kwh_become_epa_equivalents(service: Service, tenant: CreatedTenant) -> None:
    await service.http.put(
        "/v1/equivalents/parameters",
        json={"modes": {"solar_generation": "avoided"}},
        headers=auth(tenant),
    )
    await service.publish(
        usage(tenant, "sunny-farm", "solar_generation", 400, unit="kWh"),
        usage(tenant, "sunny-farm", "solar_generation", 350, unit="kWh", days_ago=3),
        usage(tenant, "sunny-farm", "solar_generation", 250_000, unit="Wh", days_ago=10),
    )
    body = await value_when(service, tenant, "sunny-farm", "solar_generation", 250_750)
    assert {(t["unit"], t["total"], t["events"]) for t in body["totals"]} == {
        ("kWh", 750, 2),
        ("Wh", 250_000, 1),
    }
    feel_good = {e["id"]: e for e in body["feel_good"]}
    # 750 kWh + 250 kWh = 1000 kWh * 7.09e-4 t/kWh = 0.709 t CO2e; / 3.926866e-4 t/mile
    miles = feel_good["vehicle_miles"]
    assert miles["value"] == pytest.approx(1000 * 7.09e-4 / 3.926866e-4)
    assert miles["metric"] == "solar_generation"
    assert miles["text"] == "about 1,806 miles not driven"
    sourced = [step for step in miles["trace"] if step["operation"] != "convert"]
    assert all(step["source"]["title"].startswith("US EPA") for step in sourced)
    assert feel_good["tree_seedlings"]["value"] == pytest.approx(0.709 / 0.060)
    assert body["unconverted"] == []


async def test_transactions_become_hours_and_ftes_with_tenant_parameters(
    service: Service, tenant: CreatedTenant
) -> None:
    await service.http.put(
        "/v1/equivalents/parameters",
        json={"params": {"minutes_per_transaction": 3, "hourly_wage": 40}},
        headers=auth(tenant),
    )
    # One account's events share a partition, in order: the last one counted means all were.
    await service.publish(
        usage(tenant, "acme", "logins", 30),
        usage(tenant, "acme", "transactions_processed", 99_999, days_ago=40),
        usage(tenant, "acme", "transactions_processed", 10_000, unit="transactions"),
        usage(tenant, "acme", "transactions_processed", 2_400, unit="transactions", days_ago=1),
    )
    body = await value_when(service, tenant, "acme", "transactions_processed", 12_400)
    values = {e["id"]: e for e in body["action"] + body["feel_good"]}
    # 12400 * 3 min = 620 h; / 1720 h per FTE-year; 620 h * 40 USD/h * 1.42
    assert values["work_time_saved"]["value"] == pytest.approx(620)
    assert values["fte_years_not_hired"]["value"] == pytest.approx(620 / 1720)
    assert values["fte_years_not_hired"]["kind"] == "action"
    assert values["labour_cost_avoided"]["value"] == pytest.approx(620 * 40 * 1.42)
    assert body["unconverted"] == [
        {"metric": "logins", "field": "metric", "reason": "no conversion takes 'logins'"}
    ]
    # The 40-day-old event falls in an explicit, longer period (both dates inclusive).
    since = (datetime.now(UTC) - timedelta(days=40)).date()
    longer = await value_when(
        service, tenant, "acme", "transactions_processed", 112_399, f"?from={since}"
    )
    assert longer["from"] == str(since)


async def test_redelivered_events_are_counted_once(service: Service, tenant: CreatedTenant) -> None:
    first = [
        usage(tenant, "echo", "transactions_processed", 10, event_id=f"dup-{n}") for n in range(5)
    ]
    await service.publish(*first)
    await value_when(service, tenant, "echo", "transactions_processed", 50)
    # The same ids again (as after a producer retry), then a marker published behind them on
    # the same partition: once the marker counts, the duplicates were consumed.
    await service.publish(*first, usage(tenant, "echo", "marker", 1))
    body = await value_when(service, tenant, "echo", "marker", 1)
    totals = {t["metric"]: (t["total"], t["events"]) for t in body["totals"]}
    assert totals["transactions_processed"] == (50, 5)


async def test_duplicates_inside_one_batch_are_counted_once(
    service: Service, tenant: CreatedTenant
) -> None:
    context: handlers.Context = service.app.state.context
    event = usage(tenant, "batchy", "transactions_processed", 7, person="p1")
    assert await handlers.record_events(context.sessions, [event, event, event]) == 1
    assert await handlers.record_events(context.sessions, [event]) == 0
    body = await value_when(service, tenant, "batchy", "transactions_processed", 7)
    assert body["active_people"] == 1


async def test_tenant_entry_converts_account_usage(service: Service, tenant: CreatedTenant) -> None:
    entry = {
        "id": "ticket_time_saved",
        "input": "tickets_deflected",
        "output": "work_time",
        "output_unit": "hour",
        "label": "hours of support work saved",
        "template": "{amount} of support work saved",
        "kind": "feel_good",
        "operation": "multiply",
        "factors": [{"label": "minutes per ticket", "value": 12, "unit": "minute"}],
        "source": {"title": "Acme time study", "edition": "2026-10"},
    }
    created = await service.http.post("/v1/equivalents/catalog", json=entry, headers=auth(tenant))
    assert created.status_code == 201, created.text
    await service.publish(usage(tenant, "helpdesk", "tickets_deflected", 100))
    body = await value_when(service, tenant, "helpdesk", "tickets_deflected", 100)
    values = {e["id"]: e["value"] for e in body["feel_good"] + body["action"]}
    assert values["ticket_time_saved"] == pytest.approx(20)  # 100 * 12 min
    assert values["fte_years_not_hired"] == pytest.approx(20 / 1720)


async def test_another_tenants_account_is_404(
    service: Service, tenant: CreatedTenant, other_tenant: CreatedTenant
) -> None:
    await service.publish(usage(tenant, "private", "transactions_processed", 5))
    await value_when(service, tenant, "private", "transactions_processed", 5)
    for path in ("/v1/accounts/private/value", "/v1/accounts/private/roi?annual_benefit=1"):
        response = await service.http.get(path, headers=auth(other_tenant))
        assert response.status_code == 404, response.text
        assert error_of(response)["field"] == "account_id"


async def test_period_must_run_forward(service: Service, tenant: CreatedTenant) -> None:
    response = await service.http.get(
        "/v1/accounts/any/value?from=2026-11-20&to=2026-11-01", headers=auth(tenant)
    )
    assert response.status_code == 422 and error_of(response)["field"] == "from"
    response = await service.http.get("/v1/accounts/any/value?from=yesterday", headers=auth(tenant))
    assert response.status_code == 422 and error_of(response)["field"] == "from"


async def test_account_roi_uses_observed_adoption(service: Service, tenant: CreatedTenant) -> None:
    await service.publish(
        *(usage(tenant, "team", "reports_built", 1, person=f"p{n}") for n in range(4)),
        usage(tenant, "team", "reports_built", 1, person="p0", days_ago=2),
        usage(tenant, "team", "reports_built", 1, person="gone", days_ago=45),
    )
    await value_when(service, tenant, "team", "reports_built", 5)
    unknown = await service.http.get(
        "/v1/accounts/team/roi?annual_benefit=100000", headers=auth(tenant)
    )
    assert unknown.status_code == 409 and error_of(unknown)["code"] == "seats_unknown"

    await service.publish(identified(tenant, "team", 10))

    async def forecast() -> dict[str, Any] | None:
        response = await service.http.get(
            "/v1/accounts/team/roi?annual_benefit=100000&one_off_costs=10000&years=2"
            "&discount_rate=0",
            headers=auth(tenant),
        )
        return response.json() if response.status_code == 200 else None

    body = await eventually(forecast)
    # 4 distinct people active in the last 30 days over 10 seats = 40% adoption
    assert (body["active_people"], body["seats"]) == (4, 10)
    assert body["observed_adoption"] == pytest.approx(0.4)
    (scenario,) = body["scenarios"]
    assert scenario["name"] == "observed 40%"
    assert scenario["npv"] == pytest.approx(-10_000 + 40_000 * 2)
    assert scenario["payback_year"] == 1


async def test_malformed_messages_are_dead_lettered_and_the_rest_counted(
    service: Service, tenant: CreatedTenant, kafka_bootstrap: str
) -> None:
    key = f"{tenant.tenant.id}:poison".encode()
    await service.producer.send_and_wait(service.topics.events, value=b"{not json", key=key)
    await service.publish(usage(tenant, "poison", "transactions_processed", 3))
    await value_when(service, tenant, "poison", "transactions_processed", 3)
    letters = await read_records(kafka_bootstrap, service.topics.events_dlq, 1)
    mine = [r for r in letters if r.key == key]
    assert mine and dict(mine[0].headers)["ampm-dlq-reason"].startswith(b"malformed envelope")
