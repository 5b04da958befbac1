"""REST to webhook: events posted to ingest come out as verified webhooks and account value."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import System
from tests.notifier.receiver import Receiver
from tests.support.servers import serve_app

pytestmark = pytest.mark.integration

ACCOUNT = "e2e-northwind"


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    recorder = Receiver()
    async with serve_app(recorder.app()) as url:
        yield recorder, url


async def register_endpoint(system: System, url: str) -> str:
    """Subscribe ``url`` to every event type; returns the signing secret."""
    async with httpx.AsyncClient(headers=system.secret_headers()) as client:
        created = await client.post(
            f"{system.url('notifier')}/v1/webhooks/endpoints",
            json={"url": url, "description": "CSM tool"},
        )
    assert created.status_code == 201, created.text
    return str(created.json()["secret"])


async def post_events(system: System, events: list[dict[str, Any]]) -> list[str]:
    async with httpx.AsyncClient(headers=system.write_headers(), timeout=30) as client:
        answer = await client.post(f"{system.url('ingest')}/v1/events", json={"events": events})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["ids"])


def verified(receiver: Receiver, path: str, secret: str) -> list[dict[str, Any]]:
    """Every successful delivery at ``path``, each checked with the reference library."""
    webhook = Webhook(secret)
    return [webhook.verify(r.body, r.headers) for r in receiver.succeeded(path)]


def _types(payloads: list[dict[str, Any]]) -> list[str]:
    return [p["type"] for p in payloads]


async def test_sponsor_departure_reaches_the_csm_tool_signed(
    system: System, receiver: tuple[Receiver, str]
) -> None:
    recorder, receiver_url = receiver
    secret = await register_endpoint(system, f"{receiver_url}/csm")
    today = datetime.now(UTC).replace(microsecond=0)
    await post_events(
        system,
        [
            {
                "kind": "lifecycle",
                "name": "account.identified",
                "account_id": ACCOUNT,
                "properties": {"name": "Northwind Leads", "segment": "b2b", "seats": 10},
            },
            {
                "kind": "lifecycle",
                "name": "person.identified",
                "account_id": ACCOUNT,
                "person_id": "p-ceo",
                "properties": {"role": "sponsor", "status": "active"},
            },
        ],
    )
    async with httpx.AsyncClient(headers=system.secret_headers()) as client:
        plan = await client.put(
            f"{system.url('correlation')}/v1/accounts/{ACCOUNT}/success-plan",
            json={
                "objectives": [
                    {
                        "metric": "lead_conversion_rate",
                        "baseline": 0.022,
                        "target": 0.032,
                        "direction": "up",
                        "deadline": (today + timedelta(days=60)).date().isoformat(),
                    }
                ],
                "itinerary": [
                    {
                        "metric": "new_contacts_identified",
                        "category": "process",
                        "target_per_period": 50,
                        "direction": "increase",
                    }
                ],
                "sponsor_id": "p-ceo",
                "adoption_owner_id": "p-ops",
            },
        )
    assert plan.status_code == 200, plan.text
    await post_events(
        system,
        [
            {
                "kind": "lifecycle",
                "name": "stakeholder.departed",
                "account_id": ACCOUNT,
                "person_id": "p-ceo",
                "properties": {"role": "sponsor"},
            }
        ],
    )

    def departure_delivered() -> bool:
        payloads = verified(recorder, "/csm", secret)
        raised = [
            p
            for p in payloads
            if p["type"] == "signal.raised" and p["data"]["signal_type"] == "sponsor_departure"
        ]
        recommended = [
            p
            for p in payloads
            if p["type"] == "recommendation.created" and p["data"]["category"] == "bad_weather"
        ]
        return bool(raised) and bool(recommended)

    await recorder.wait_until(departure_delivered, deadline_seconds=60)
    payloads = verified(recorder, "/csm", secret)
    raised = [
        p
        for p in payloads
        if p["type"] == "signal.raised" and p["data"]["signal_type"] == "sponsor_departure"
    ]
    assert len(raised) == 1
    assert raised[0]["data"]["account_id"] == ACCOUNT
    recommendation = next(
        p
        for p in payloads
        if p["type"] == "recommendation.created" and p["data"]["category"] == "bad_weather"
    )
    assert "successor" in orjson.dumps(recommendation["data"]).decode().lower()
    # A tampered body fails verification: the signature covers exactly what was sent.
    delivery = recorder.succeeded("/csm")[0]
    with pytest.raises(Exception):  # noqa: B017 - the library raises its own verification error
        Webhook(secret).verify(delivery.body + b" ", delivery.headers)

    # Naming a successor resolves the signal, once.
    await post_events(
        system,
        [
            {
                "kind": "lifecycle",
                "name": "person.identified",
                "account_id": ACCOUNT,
                "person_id": "p-cro",
                "properties": {"role": "sponsor", "status": "active"},
            }
        ],
    )

    def resolved() -> list[dict[str, Any]]:
        return [
            p
            for p in verified(recorder, "/csm", secret)
            if p["type"] == "signal.resolved" and p["data"]["signal_type"] == "sponsor_departure"
        ]

    await recorder.wait_until(lambda: bool(resolved()), deadline_seconds=60)
    assert len(resolved()) == 1
    # One notion of time: every timestamp of every webhook and every answer is UTC, with Z.
    answers: list[Any] = [p for p in verified(recorder, "/csm", secret)]
    async with httpx.AsyncClient(headers=system.secret_headers()) as client:
        correlation, notifier = system.url("correlation"), system.url("notifier")
        for path in ("", "/people", "/signals", "/health", "/success-plan"):
            answers.append((await client.get(f"{correlation}/v1/accounts/{ACCOUNT}{path}")).json())
        answers.append((await client.get(f"{notifier}/v1/recommendations")).json())
        messages = (await client.get(f"{notifier}/v1/webhooks/messages")).json()
        answers.append(messages)
        first = messages["data"][0]["id"]
        answers.append(
            (await client.get(f"{notifier}/v1/webhooks/messages/{first}/attempts")).json()
        )
        answers.append((await client.get(f"{notifier}/v1/webhooks/endpoints")).json())
    found = _timestamps(answers)
    assert len(found) > 20
    assert [t for t in found if not t.endswith("Z")] == []


async def test_usage_posted_to_ingest_becomes_account_value(system: System) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    async with httpx.AsyncClient(headers=system.secret_headers()) as client:
        # A solar panel's kWh are avoided grid electricity (EPA's AVERT marginal factor).
        modes = await client.put(
            f"{system.url('equivalents')}/v1/equivalents/parameters",
            json={"params": {}, "modes": {"energy_generated": "avoided"}},
        )
    assert modes.status_code == 200, modes.text
    readings = [250.0, 250.0, 300.0, 200.0]
    await post_events(
        system,
        [
            {
                "kind": "usage",
                "name": "energy_generated",
                "account_id": "sunny-roofs",
                "value": kwh,
                "unit": "kWh",
                "occurred_at": (now - timedelta(hours=n)).isoformat(),
            }
            for n, kwh in enumerate(readings)
        ],
    )
    url = f"{system.url('equivalents')}/v1/accounts/sunny-roofs/value"
    async with httpx.AsyncClient(headers=system.secret_headers()) as client:
        async with asyncio.timeout(60):
            while True:
                value = (await client.get(url)).json()
                if value.get("totals") and value["totals"][0]["events"] == len(readings):
                    break
                await asyncio.sleep(0.2)
    [total] = value["totals"]
    assert (total["metric"], total["unit"], total["total"]) == ("energy_generated", "kWh", 1000.0)
    assert value["unconverted"] == []
    miles = next(e for e in value["feel_good"] if "miles" in e["text"])
    # 1000 kWh x 7.09e-4 t CO2e/kWh / 3.926866e-4 t CO2e per mile = 1806 miles (EPA calculator, FACTORS.md).
    assert miles["value"] == pytest.approx(1000 * 7.09e-4 / 3.926866e-4, rel=1e-6)


def _timestamps(node: Any) -> list[str]:
    """Every string in ``node`` that is a date and a time."""
    if isinstance(node, dict):
        return [t for value in node.values() for t in _timestamps(value)]
    if isinstance(node, list):
        return [t for item in node for t in _timestamps(item)]
    if isinstance(node, str) and len(node) >= 19 and node[10:11] == "T":
        try:
            datetime.fromisoformat(node)
        except ValueError:
            return []
        return [node]
    return []
