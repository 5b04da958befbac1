"""Signal changes and value digests through the handlers: signals and digests topics -> recommendations and signed webhooks to real receivers."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from standardwebhooks.webhooks import Webhook

from services.notifier.settings import NotifierSettings
from shared.digests import Cadence, DigestEquivalent, ValueDigest
from shared.signals import SignalType
from shared.tenancy.store import CreatedTenant
from shared.topics import Topics
from tests.notifier.conftest import publish, raised, register, running
from tests.notifier.receiver import Receiver

pytestmark = pytest.mark.integration


async def test_signal_becomes_a_recommendation_and_verified_webhooks(
    notifier_settings: NotifierSettings,
    tenant: CreatedTenant,
    receiver: tuple[Receiver, str],
    signals_producer: AIOKafkaProducer,
) -> None:
    recorder, receiver_url = receiver
    async with running(notifier_settings, tenant.secret_key.plaintext) as client:
        endpoint = await register(client, receiver_url + "/all")
        assert endpoint["secret"].startswith("whsec_")
        first = raised(tenant.tenant.id, "chg-1")
        # The duplicate is skipped; chg-2 on the same partition proves it was consumed.
        await publish(signals_producer, notifier_settings, [first, first])
        await publish(signals_producer, notifier_settings, [raised(tenant.tenant.id, "chg-2")])
        await recorder.wait_until(lambda: len(recorder.at("/all")) >= 4)

        verifier = Webhook(endpoint["secret"])
        types = []
        for request in recorder.at("/all"):
            payload = verifier.verify(request.body, request.headers)
            assert request.body == orjson.dumps(orjson.loads(request.body))  # compact
            types.append(payload["type"])
        assert sorted(types) == ["recommendation.created"] * 2 + ["signal.raised"] * 2

        page = await client.get("/v1/recommendations", params={"account_id": "acme", "limit": 1})
        assert page.status_code == 200, page.text
        first_page = page.json()
        assert len(first_page["data"]) == 1 and first_page["next_cursor"]
        recommendation = first_page["data"][0]
        assert recommendation["signal_change_id"] == "chg-1"
        assert recommendation["category"] == "bad_weather"
        assert recommendation["links"]["ampm"] == ("http://127.0.0.1:8002/v1/accounts/acme/ampm")
        rest = await client.get(
            "/v1/recommendations",
            params={"account_id": "acme", "cursor": first_page["next_cursor"]},
        )
        assert [r["signal_change_id"] for r in rest.json()["data"]] == ["chg-2"]
        one = await client.get(f"/v1/recommendations/{recommendation['id']}")
        assert one.status_code == 200 and one.json() == recommendation
        assert recommendation["created_at"].endswith("Z")
        missing = await client.get("/v1/recommendations/rec_missing")
        assert missing.status_code == 404
        assert missing.json()["error"]["field"] == "recommendation_id"
        await asyncio.sleep(0)  # nothing more is expected: exactly four webhooks
        assert len(recorder.at("/all")) == 4


async def test_a_digest_is_delivered_once_and_an_arrival_quotes_the_value_delivered(
    notifier_settings: NotifierSettings,
    tenant: CreatedTenant,
    receiver: tuple[Receiver, str],
    signals_producer: AIOKafkaProducer,
) -> None:
    recorder, receiver_url = receiver
    tenant_id = tenant.tenant.id
    digest = ValueDigest(
        id=ValueDigest.digest_id(tenant_id, "acme", "2026-W48"),
        tenant_id=tenant_id,
        account_id="acme",
        cadence=Cadence.WEEKLY,
        period="2026-W48",
        period_start=date(2026, 11, 23),
        period_end=date(2026, 11, 29),
        action=(),
        feel_good=(),
        to_date=(
            DigestEquivalent(
                id="vehicle_miles",
                kind="feel_good",
                metric="solar_generation",
                label="miles not driven",
                text="about 18,055 miles not driven",
                amount="18,055",
                value=18055.1,
                unit="mile",
                source_title="US EPA Greenhouse Gas Equivalencies Calculator",
                source_edition="2022 data",
            ),
        ),
        since=date(2026, 6, 1),
        occurred_at=datetime.now(UTC),
    )
    topic = Topics(notifier_settings.topic_namespace).digests
    async with running(notifier_settings, tenant.secret_key.plaintext) as client:
        endpoint = await register(client, receiver_url + "/value")
        for _ in range(2):  # published again after a restart: the same id, one webhook
            await signals_producer.send_and_wait(
                topic, digest.to_value(), key=digest.key, headers=digest.headers()
            )
        # Digests and signals travel on two topics: the arrival comes once the digest is kept.
        await recorder.wait_until(lambda: len(recorder.at("/value")) >= 1)
        arrived = raised(tenant_id, "chg-arrived", signal_type=SignalType.OBJECTIVE_ACHIEVED)
        await publish(signals_producer, notifier_settings, [arrived])
        await recorder.wait_until(lambda: len(recorder.at("/value")) >= 3)
        await asyncio.sleep(0.5)

        verifier = Webhook(endpoint["secret"])
        payloads = [verifier.verify(r.body, r.headers) for r in recorder.at("/value")]
        assert sorted(p["type"] for p in payloads) == [
            "recommendation.created",
            "signal.raised",
            "value.digest",
        ]
        (recommendation,) = [p["data"] for p in payloads if p["type"] == "recommendation.created"]
        assert recommendation["message"].endswith(
            "Value delivered since 01 Jun 2026: about 18,055 miles not driven."
        )
        assert recommendation["evidence"]["value"]["digest_id"] == digest.id
