"""Browsers may send events to the write-key routes, and only there (a served ingest app)."""

from __future__ import annotations

import httpx
import pytest

from shared.tenancy.store import CreatedTenant
from tests.ingest.conftest import ServeIngest

pytestmark = pytest.mark.integration

ORIGIN = "https://app.vendor.example"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.mark.parametrize("path", ["/v1/track", "/v1/batch", "/v1/events"])
async def test_a_browser_preflight_on_a_write_key_route_is_allowed(
    client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.options(path, headers=PREFLIGHT)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()


async def test_events_posted_from_a_page_carry_the_cors_header(
    client: httpx.AsyncClient, tenant: CreatedTenant
) -> None:
    answer = await client.post(
        "/v1/events",
        json={"kind": "usage", "name": "report.viewed"},
        headers={"Origin": ORIGIN, "Authorization": f"Bearer {tenant.write_key.plaintext}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == "*"


async def test_secret_key_routes_get_no_cors_and_origins_are_configurable(
    serve_ingest: ServeIngest,
) -> None:
    async with (
        serve_ingest(cors_allow_origins=ORIGIN) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        admin = await http.options("/v1/tenants", headers=PREFLIGHT)
        assert "access-control-allow-origin" not in admin.headers
        allowed = await http.options("/v1/track", headers=PREFLIGHT)
        assert allowed.headers["access-control-allow-origin"] == ORIGIN
        other = await http.options(
            "/v1/track", headers={**PREFLIGHT, "Origin": "https://evil.example"}
        )
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers
