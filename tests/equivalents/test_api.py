"""The equivalents REST API over real HTTP: catalog, parameters, conversions, ROI forecasts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.equivalents.app import create_app
from services.equivalents.settings import EquivalentsSettings
from shared.tenancy.store import CreatedTenant
from tests.equivalents.conftest import Service, auth, error_of
from tests.support.servers import serve_app
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

SOURCE = {"title": "Acme time study", "edition": "2026-10", "url": "https://example.com/study"}


def ticket_entry(**overrides: Any) -> dict[str, Any]:
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
        "source": SOURCE,
        "assumptions": "A deflected ticket saves one average handling time.",
    }
    return entry | overrides


async def test_requests_without_a_secret_key_are_401(service: Service) -> None:
    response = await service.http.get("/v1/equivalents/catalog")
    assert response.status_code == 401
    assert error_of(response)["field"] == "authorization"


async def test_catalog_lists_shipped_entries_with_formula_and_source(
    service: Service, tenant: CreatedTenant
) -> None:
    response = await service.http.get("/v1/equivalents/catalog", headers=auth(tenant))
    assert response.status_code == 200
    entries = {e["id"]: e for e in response.json()["entries"]}
    miles = entries["vehicle_miles"]
    assert miles["origin"] == "shipped" and miles["kind"] == "feel_good"
    assert miles["formula"].startswith("co2e / ")
    assert miles["source"]["title"].startswith("US EPA")
    assert "assumptions" in miles and "notes" in miles  # the vendor's view of the catalog
    forest = entries["forest_acres"]
    assert forest["review"]["status"] == "unconfirmed" and forest["review"]["reason"]


async def test_an_entry_read_from_the_catalog_can_be_put_back_unchanged(
    service: Service, tenant: CreatedTenant
) -> None:
    catalog = await service.http.get("/v1/equivalents/catalog", headers=auth(tenant))
    (miles,) = [e for e in catalog.json()["entries"] if e["id"] == "vehicle_miles"]
    put = await service.http.put(
        "/v1/equivalents/catalog/vehicle_miles", json=miles, headers=auth(tenant)
    )
    assert put.status_code in (200, 201), put.text
    back = put.json()
    assert back["origin"] == "tenant" and back["overrides_shipped"] is True
    assert {k: v for k, v in back.items() if k not in ("origin", "overrides_shipped")} == {
        k: v for k, v in miles.items() if k not in ("origin", "overrides_shipped")
    }


async def test_a_create_retried_with_its_idempotency_key_gets_the_first_answer(
    service: Service, tenant: CreatedTenant
) -> None:
    entry = {
        "id": "tickets_time",
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
    headers = {**auth(tenant), "Idempotency-Key": "tickets-1"}
    first = await service.http.post("/v1/equivalents/catalog", json=entry, headers=headers)
    again = await service.http.post("/v1/equivalents/catalog", json=entry, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)  # not 409 "exists"
    assert again.json() == first.json()
    changed = await service.http.post(
        "/v1/equivalents/catalog", json={**entry, "label": "other"}, headers=headers
    )
    assert changed.status_code == 409
    assert error_of(changed)["field"] == "Idempotency-Key"


async def test_tenant_entry_is_created_used_and_deleted(
    service: Service, tenant: CreatedTenant
) -> None:
    headers = auth(tenant)
    created = await service.http.post(
        "/v1/equivalents/catalog", json=ticket_entry(), headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["origin"] == "tenant"
    again = await service.http.post("/v1/equivalents/catalog", json=ticket_entry(), headers=headers)
    assert again.status_code == 409 and error_of(again)["field"] == "id"

    # 100 tickets * 12 min = 1200 min = 20 h; 20 h / 1720 h per FTE-year; 20 h * 32.07 * 1.42
    converted = await service.http.post(
        "/v1/equivalents/convert",
        json={"quantity": 100, "metric": "tickets_deflected"},
        headers=headers,
    )
    assert converted.status_code == 200, converted.text
    results = {e["id"]: e for e in converted.json()["equivalents"]}
    assert results["ticket_time_saved"]["value"] == pytest.approx(20)
    assert results["ticket_time_saved"]["text"] == "about 20 h of support work saved"
    assert results["fte_years_not_hired"]["value"] == pytest.approx(20 / 1720)
    assert results["labour_cost_avoided"]["value"] == pytest.approx(20 * 32.07 * 1.42)
    trace = results["fte_years_not_hired"]["trace"]
    assert trace[0]["source"]["title"] == "Acme time study"
    assert trace[-1]["parameter"] == "hours_per_fte_year"

    deleted = await service.http.delete(
        "/v1/equivalents/catalog/ticket_time_saved", headers=headers
    )
    assert deleted.status_code == 204
    gone = await service.http.post(
        "/v1/equivalents/convert",
        json={"quantity": 100, "metric": "tickets_deflected"},
        headers=headers,
    )
    assert gone.status_code == 422 and error_of(gone)["field"] == "metric"


async def test_put_overrides_a_shipped_entry_for_this_tenant_only(
    service: Service, tenant: CreatedTenant, other_tenant: CreatedTenant
) -> None:
    override = ticket_entry(
        id=None,
        input="co2e",
        output=None,
        output_unit="mile",
        label="miles not driven (our fleet)",
        template=None,
        operation="divide",
        factors=[
            {"label": "our fleet's emissions per mile", "value": 5e-4, "unit": "t CO2e / mile"}
        ],
    )
    put = await service.http.put(
        "/v1/equivalents/catalog/vehicle_miles", json=override, headers=auth(tenant)
    )
    assert put.status_code == 201, put.text
    assert put.json()["overrides_shipped"] is True
    replaced = await service.http.put(
        "/v1/equivalents/catalog/vehicle_miles", json=override, headers=auth(tenant)
    )
    assert replaced.status_code == 200

    async def miles(who: CreatedTenant) -> float:
        response = await service.http.post(
            "/v1/equivalents/convert",
            json={"quantity": 1, "unit": "t CO2e", "targets": ["vehicle_miles"]},
            headers=auth(who),
        )
        assert response.status_code == 200, response.text
        value: float = response.json()["equivalents"][0]["value"]
        return value

    assert await miles(tenant) == pytest.approx(1 / 5e-4)
    assert await miles(other_tenant) == pytest.approx(1 / 3.926866e-4)
    other_catalog = await service.http.get("/v1/equivalents/catalog", headers=auth(other_tenant))
    other_entries = {e["id"]: e for e in other_catalog.json()["entries"]}
    assert other_entries["vehicle_miles"]["origin"] == "shipped"

    # The other tenant cannot delete it; deleting the override restores the shipped entry.
    foreign = await service.http.delete(
        "/v1/equivalents/catalog/vehicle_miles", headers=auth(other_tenant)
    )
    assert foreign.status_code == 409 and error_of(foreign)["code"] == "shipped_entry"
    own = await service.http.delete("/v1/equivalents/catalog/vehicle_miles", headers=auth(tenant))
    assert own.status_code == 204
    assert await miles(tenant) == pytest.approx(1 / 3.926866e-4)


async def test_tenant_entries_are_invisible_to_other_tenants(
    service: Service, tenant: CreatedTenant, other_tenant: CreatedTenant
) -> None:
    created = await service.http.post(
        "/v1/equivalents/catalog", json=ticket_entry(), headers=auth(tenant)
    )
    assert created.status_code == 201
    listing = await service.http.get("/v1/equivalents/catalog", headers=auth(other_tenant))
    assert "ticket_time_saved" not in {e["id"] for e in listing.json()["entries"]}
    deleted = await service.http.delete(
        "/v1/equivalents/catalog/ticket_time_saved", headers=auth(other_tenant)
    )
    assert deleted.status_code == 404
    # The other tenant may create its own entry with the same id.
    same_id = await service.http.post(
        "/v1/equivalents/catalog", json=ticket_entry(), headers=auth(other_tenant)
    )
    assert same_id.status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"factors": [{"label": "x", "value": -1, "unit": "minute"}]}, "factors[0].value"),
        ({"output_unit": "kg"}, "output_unit"),
        ({"output_unit": "flurbs"}, "output_unit"),
        ({"source": None}, "source"),
        ({"kind": "nice"}, "kind"),
        ({"id": "Bad Id"}, "id"),
        ({"source": {"title": SOURCE["title"]}}, "source.edition"),
    ],
)
async def test_invalid_entries_are_422_naming_the_field(
    service: Service, tenant: CreatedTenant, change: dict[str, Any], field: str
) -> None:
    response = await service.http.post(
        "/v1/equivalents/catalog", json=ticket_entry(**change), headers=auth(tenant)
    )
    assert response.status_code == 422, response.text
    assert error_of(response)["field"] == field


async def test_parameters_are_stored_per_tenant_and_used(
    service: Service, tenant: CreatedTenant, other_tenant: CreatedTenant
) -> None:
    put = await service.http.put(
        "/v1/equivalents/parameters",
        json={"params": {"minutes_per_transaction": 3, "hourly_wage": "40 USD/hour"}},
        headers=auth(tenant),
    )
    assert put.status_code == 200, put.text
    resolved = {p["name"]: p for p in put.json()["resolved"]}
    assert resolved["hourly_wage"]["origin"] == "tenant"
    assert resolved["loaded_cost_factor"]["origin"] == "default"

    # 12400 * 3 min = 620 h; 620 h * 40 USD/h * 1.42
    converted = await service.http.post(
        "/v1/equivalents/convert",
        json={"quantity": 12400, "metric": "transactions_processed"},
        headers=auth(tenant),
    )
    results = {e["id"]: e for e in converted.json()["equivalents"]}
    assert results["work_time_saved"]["value"] == pytest.approx(620)
    assert results["work_time_saved"]["amount"] == "620 h"
    assert results["labour_cost_avoided"]["value"] == pytest.approx(620 * 40 * 1.42)
    assert results["labour_cost_avoided"]["rounded_value"] == 35200

    other = await service.http.get("/v1/equivalents/parameters", headers=auth(other_tenant))
    assert other.json()["params"] == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"params": {"hourly_wage": -5}}, "params.hourly_wage"),
        ({"params": {"hourly_wage": "40 kg"}}, "params.hourly_wage"),
        ({"params": {"shoe_size": 42}}, "params.shoe_size"),
        ({"modes": {"solar": "sideways"}}, "modes.solar"),
    ],
)
async def test_invalid_parameters_are_422_naming_the_field(
    service: Service, tenant: CreatedTenant, body: dict[str, Any], field: str
) -> None:
    response = await service.http.put("/v1/equivalents/parameters", json=body, headers=auth(tenant))
    assert response.status_code == 422, response.text
    assert error_of(response)["field"] == field


async def test_1000_kwh_avoided_gives_epa_equivalents_with_traces(
    service: Service, tenant: CreatedTenant
) -> None:
    response = await service.http.post(
        "/v1/equivalents/convert",
        json={"quantity": 1000, "unit": "kWh", "mode": "avoided"},
        headers=auth(tenant),
    )
    assert response.status_code == 200, response.text
    results = {e["id"]: e for e in response.json()["equivalents"]}
    miles = results["vehicle_miles"]
    assert miles["value"] == pytest.approx(1000 * 7.09e-4 / 3.926866e-4)
    assert miles["text"] == "about 1,806 miles not driven"
    assert [step["operation"] for step in miles["trace"]] == ["multiply", "divide"]
    assert all(step["source"]["edition"] for step in miles["trace"])


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"quantity": 5, "unit": "furlongs_per_blob"}, "unit", "incompatible_units"),
        ({"quantity": 5, "unit": "kg"}, "unit", "incompatible_units"),
        ({"quantity": -1, "unit": "kWh", "mode": "used"}, "quantity", "invalid_parameter"),
        ({"quantity": 1000, "unit": "kWh"}, "mode", "invalid_parameter"),
        (
            {"quantity": 1, "metric": "transactions_processed"},
            "params.minutes_per_transaction",
            "invalid_parameter",
        ),
        ({"quantity": 1, "unit": "kcal", "targets": ["nope"]}, "targets[0]", "unknown_equivalent"),
        (
            {"quantity": 1, "unit": "kcal", "params": {"body_weight_kg": "heavy"}},
            "params.body_weight_kg",
            "incompatible_units",
        ),
        ({"quantity": "many", "unit": "kcal"}, "quantity", "validation_error"),
        ({"quantity": 1e201, "unit": "kWh", "mode": "avoided"}, "quantity", "validation_error"),
        ({"unit": "kcal"}, "quantity", "validation_error"),
    ],
)
async def test_convert_errors_are_422_naming_the_field(
    service: Service, tenant: CreatedTenant, body: dict[str, Any], field: str, code: str
) -> None:
    response = await service.http.post("/v1/equivalents/convert", json=body, headers=auth(tenant))
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert (error["field"], error["code"]) == (field, code)


async def test_roi_forecast_per_constant_adoption_scenario(
    service: Service, tenant: CreatedTenant
) -> None:
    body = {
        "annual_benefit_at_full_adoption": 100_000,
        "one_off_costs": 30_000,
        "yearly_costs": {"licences": 20_000},
        "years": 3,
        "discount_rate": 0.1,
        "adoption_rates": [0.3, 0.5, 0.7],
    }
    response = await service.http.post("/v1/forecasts/roi", json=body, headers=auth(tenant))
    assert response.status_code == 200, response.text
    scenarios = {s["name"]: s for s in response.json()["scenarios"]}
    assert list(scenarios) == ["30%", "50%", "70%"]
    # 30%: net 30k - 20k = 10k a year; cumulative -20k, -10k, 0 -> payback in year 3
    low = scenarios["30%"]
    assert [y["cumulative_net"] for y in low["years"]] == pytest.approx([-20_000, -10_000, 0])
    assert low["payback_year"] == 3
    assert low["roi"] == pytest.approx((90_000 - 90_000) / 90_000)
    # 70%: net 50k a year; NPV = -30k + 50k/1.1 + 50k/1.21 + 50k/1.331
    high = scenarios["70%"]
    assert high["npv"] == pytest.approx(-30_000 + 50_000 / 1.1 + 50_000 / 1.21 + 50_000 / 1.331)
    assert high["payback_year"] == 1


async def test_roi_forecast_along_an_adoption_curve(
    service: Service, tenant: CreatedTenant
) -> None:
    body = {
        "annual_benefit_at_full_adoption": 100_000,
        "one_off_costs": 50_000,
        "years": 3,
        "discount_rate": 0,
        "adoption_curve": [0.2, 0.5, 0.8],
    }
    response = await service.http.post("/v1/forecasts/roi", json=body, headers=auth(tenant))
    (curve,) = response.json()["scenarios"]
    assert [y["benefit"] for y in curve["years"]] == pytest.approx([20_000, 50_000, 80_000])
    assert curve["payback_year"] == 2
    assert curve["npv"] == pytest.approx(100_000)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({}, "adoption_rates"),
        ({"adoption_rates": [0.5], "adoption_curve": [0.5, 0.5]}, "adoption_rates"),
        ({"adoption_curve": [0.5]}, "adoption_curve"),
        ({"adoption_rates": [1.5]}, "adoption_rates[0]"),
        ({"adoption_rates": [0.5], "years": 0}, "years"),
        ({"adoption_rates": [0.5], "discount_rate": -0.999999}, "discount_rate"),
        ({"adoption_rates": [0.5], "one_off_costs": 1e300}, "one_off_costs"),
        (
            {"adoption_rates": [0.5], "yearly_costs": {"licences": [1, 2, 3]}},
            "yearly_costs.licences",
        ),
    ],
)
async def test_roi_input_errors_are_422_naming_the_field(
    service: Service, tenant: CreatedTenant, change: dict[str, Any], field: str
) -> None:
    body = {
        "annual_benefit_at_full_adoption": 1000,
        "years": 2,
        "discount_rate": 0.05,
    } | change
    response = await service.http.post("/v1/forecasts/roi", json=body, headers=auth(tenant))
    assert response.status_code == 422, response.text
    assert error_of(response)["field"] == field


async def test_conversions_are_served_while_kafka_is_unreachable(
    base_settings: dict[str, Any], tenant: CreatedTenant
) -> None:
    settings = EquivalentsSettings(**{**base_settings, "kafka_bootstrap_servers": "127.0.0.1:1"})
    async with serve_app(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as http:
        converted = await http.post(
            "/v1/equivalents/convert",
            json={"quantity": 420, "unit": "kcal", "targets": ["walking_minutes"]},
            headers=auth(tenant),
        )
        ready = await http.get("/readyz")
    assert converted.status_code == 200
    assert converted.json()["equivalents"][0]["text"] == "about 1 h 15 min of brisk walking"
    assert ready.status_code == 503 and ready.json()["checks"]["kafka"].startswith("error")


async def test_a_change_through_one_instance_reaches_the_cache_of_another(
    service: Service,
    base_settings: dict[str, Any],
    tenant: CreatedTenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Each instance caches tenant catalogs and the chains compiled from them; a change made
    through another instance, or while the notices were lost, must not be served stale."""
    request = {"quantity": 600, "metric": "transactions_processed", "targets": ["work_time_saved"]}

    async def hours(http: httpx.AsyncClient) -> float:
        converted = await http.post("/v1/equivalents/convert", json=request, headers=auth(tenant))
        assert converted.status_code == 200, converted.text
        return float(converted.json()["equivalents"][0]["value"])

    async def serves(http: httpx.AsyncClient, expected: float) -> bool:
        return await hours(http) == pytest.approx(expected)

    async def change(body: dict[str, Any]) -> None:
        put = await service.http.put("/v1/equivalents/parameters", json=body, headers=auth(tenant))
        assert put.status_code == 200, put.text

    other_app = create_app(EquivalentsSettings(**base_settings))
    await change({"params": {"minutes_per_transaction": 2}})
    async with serve_app(other_app) as url, httpx.AsyncClient(base_url=url) as other:
        await eventually(lambda: _trusted(other_app))
        assert await hours(other) == pytest.approx(20)
        assert other_app.state.context.catalogs.get(tenant.tenant.id) is not None  # cached now

        await change({"params": {"minutes_per_transaction": 5}})
        await eventually(lambda: serves(other, 50), deadline_seconds=5)

        entry = ticket_entry(
            id="work_time_saved",
            input="transactions_processed",
            factors=[{"label": "minutes per transaction", "value": 1, "unit": "minute"}],
        )
        put = await service.http.put(
            "/v1/equivalents/catalog/work_time_saved", json=entry, headers=auth(tenant)
        )
        assert put.status_code in (200, 201), put.text
        await eventually(lambda: serves(other, 10), deadline_seconds=5)
        deleted = await service.http.delete(
            "/v1/equivalents/catalog/work_time_saved", headers=auth(tenant)
        )
        assert deleted.status_code == 204
        await eventually(lambda: serves(other, 50), deadline_seconds=5)

        # Cut the other instance's listening connection, then change the catalog: the cache
        # is distrusted on the loss (the change's notice went nowhere) and trusted again anew.
        async with sessions.begin() as session:
            cut = await session.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN%' AND datname = current_database()"
                )
            )
        assert cut >= 1
        await change({"params": {"minutes_per_transaction": 4}})
        await eventually(lambda: serves(other, 40), deadline_seconds=5)
        await eventually(lambda: _trusted(other_app), deadline_seconds=10)
        assert await hours(other) == pytest.approx(40)


async def _trusted(app: FastAPI) -> bool:
    return bool(app.state.context.catalogs.trusted)
