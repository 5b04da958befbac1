"""Load the demo tenant of ``make dev`` through the public APIs, as a real integration would.

The scenario (``demo_scenario``) is replayed week by week through ingest's native API; the
success plan goes to correlation, parameters to equivalents, and the local receiver is
subscribed to every webhook. Nothing is written into tables directly.
"""

from __future__ import annotations

import time
from datetime import datetime
from itertools import groupby

import httpx

from ampm.local.demo_equivalents import ACME, SUNNY_ROOFS
from ampm.local.demo_scenario import NORTHWIND, build_scenario
from shared.clock import utc_now

RECEIVER_DESCRIPTION = "make dev demo receiver"
# Replaying a week at a time lets the consumers see the weeks in order, so the sponsor leaving
# (week 8) and the successor (week 10) arrive as two changes, as they would live.
PAUSE_BETWEEN_WEEKS_SECONDS = 0.5
BATCH = 500


def subscribe_receiver(notifier_url: str, secret_key: str, receiver_url: str) -> str:
    """Replace the demo receiver's endpoint (its secret is shown only on creation)."""
    headers = {"Authorization": f"Bearer {secret_key}"}
    with httpx.Client(base_url=notifier_url, headers=headers, timeout=30) as client:
        for endpoint in client.get("/v1/webhooks/endpoints").raise_for_status().json():
            if endpoint["description"] == RECEIVER_DESCRIPTION:
                client.delete(f"/v1/webhooks/endpoints/{endpoint['id']}").raise_for_status()
        created = client.post(
            "/v1/webhooks/endpoints",
            json={"url": receiver_url, "description": RECEIVER_DESCRIPTION},
        ).raise_for_status()
    return str(created.json()["secret"])


def already_loaded(correlation_url: str, secret_key: str) -> bool:
    headers = {"Authorization": f"Bearer {secret_key}"}
    answer = httpx.get(f"{correlation_url}/v1/accounts/{NORTHWIND}/ampm", headers=headers)
    return answer.status_code == 200


def load_scenario(urls: dict[str, str], write_key: str, secret_key: str) -> int:
    """Replay the scenario; returns the number of events accepted."""
    scenario = build_scenario(utc_now().date())
    secret = {"Authorization": f"Bearer {secret_key}"}
    with httpx.Client(headers=secret, timeout=60) as client:
        for account, plan in scenario.plans.items():
            client.put(
                f"{urls['correlation']}/v1/accounts/{account}/success-plan", json=plan
            ).raise_for_status()
        client.put(
            f"{urls['equivalents']}/v1/equivalents/parameters",
            json={
                "params": {"minutes_per_transaction": 3, "hourly_wage": 32.07},
                "modes": {"energy_generated": "avoided"},
            },
        ).raise_for_status()
    accepted = 0
    write = {"Authorization": f"Bearer {write_key}"}
    with httpx.Client(headers=write, timeout=60) as client:
        for _week, week_events in groupby(
            scenario.events,
            key=lambda e: (
                (datetime.fromisoformat(e["occurred_at"]).date() - scenario.start).days // 7
            ),
        ):
            events = list(week_events)
            for start in range(0, len(events), BATCH):
                answer = client.post(
                    f"{urls['ingest']}/v1/events", json={"events": events[start : start + BATCH]}
                ).raise_for_status()
                accepted += int(answer.json()["accepted"])
            time.sleep(PAUSE_BETWEEN_WEEKS_SECONDS)
    return accepted


DEMO_ACCOUNTS = (NORTHWIND, SUNNY_ROOFS, ACME)
