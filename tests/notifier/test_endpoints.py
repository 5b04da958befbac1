"""The endpoint API over real HTTP: registration guarded against internal destinations, tenants kept apart, registrations retried once."""

from __future__ import annotations

import httpx
import pytest

from services.notifier.app import create_app
from services.notifier.settings import NotifierSettings
from shared.tenancy.store import CreatedTenant
from tests.notifier.conftest import api, register, running
from tests.notifier.receiver import Receiver
from tests.support.servers import serve_app

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.1/hook", "private"),
        ("http://169.254.169.254/", "metadata"),
        ("ftp://example.com/hook", "scheme"),
        ("https://hooks.example.com@169.254.169.254/", "userinfo"),
        ("https://hooks.example.com\\@10.0.0.1/", "backslash"),
        ("https://hooks%2eexample.com/", "percent-encoded"),
    ],
)
async def test_registration_refuses_internal_destinations(
    notifier_settings: NotifierSettings, tenant: CreatedTenant, url: str, reason: str
) -> None:
    async with running(notifier_settings, tenant.secret_key.plaintext) as client:
        response = await client.post("/v1/webhooks/endpoints", json={"url": url})
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["field"] == "url" and reason in error["message"]
        bad_filter = await client.post(
            "/v1/webhooks/endpoints",
            json={"url": "http://127.0.0.1:9/x", "event_types": ["signals.*"]},
        )
        assert bad_filter.json()["error"]["field"] == "event_types"


async def test_another_tenants_endpoints_and_messages_are_not_found(
    notifier_settings: NotifierSettings,
    tenant: CreatedTenant,
    other_tenant: CreatedTenant,
    receiver: tuple[Receiver, str],
) -> None:
    _recorder, receiver_url = receiver
    async with (
        serve_app(create_app(notifier_settings)) as base,
        api(base, tenant.secret_key.plaintext) as owner,
        api(base, other_tenant.secret_key.plaintext) as intruder,
    ):
        endpoint = await register(owner, receiver_url + "/mine")
        path = f"/v1/webhooks/endpoints/{endpoint['id']}"
        assert (await intruder.get(path)).status_code == 404
        assert (await intruder.patch(path, json={"enabled": False})).status_code == 404
        assert (await intruder.delete(path)).status_code == 404
        assert (await intruder.post(path + "/rotate-secret")).status_code == 404
        assert (await intruder.get("/v1/webhooks/endpoints")).json() == []
        assert (await intruder.get("/v1/webhooks/messages/msg_x/attempts")).status_code == 404
        assert (await owner.get(path)).status_code == 200
        unauthenticated = await httpx.AsyncClient(base_url=base).get("/v1/webhooks/endpoints")
        assert unauthenticated.status_code == 401


async def test_a_registration_retried_with_its_idempotency_key_creates_one_endpoint(
    notifier_settings: NotifierSettings, tenant: CreatedTenant
) -> None:
    async with running(notifier_settings, tenant.secret_key.plaintext) as client:
        body = {"url": "http://127.0.0.1:9/hook", "description": "CSM tool"}
        key = {"Idempotency-Key": "register-csm-tool-1"}
        first = await client.post("/v1/webhooks/endpoints", json=body, headers=key)
        again = await client.post("/v1/webhooks/endpoints", json=body, headers=key)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()  # the same endpoint and secret
        listed = (await client.get("/v1/webhooks/endpoints")).json()
        assert [e["id"] for e in listed] == [first.json()["id"]]
        other = await client.post(
            "/v1/webhooks/endpoints", json={**body, "description": "other"}, headers=key
        )
        assert other.status_code == 409
        assert other.json()["error"]["field"] == "Idempotency-Key"
        # Without a key every POST registers anew.
        fresh = await client.post("/v1/webhooks/endpoints", json=body)
        assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
