"""Tenant creation and key auth over real HTTP against the ingest service."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import httpx
import pytest

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from shared.tenancy.auth import TenantResolver
from shared.tenancy.keys import KeyKind, hash_key, issue_key, key_kind_of
from tests.support.servers import serve_app
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def test_keys_are_random_prefixed_and_hashed() -> None:
    first, second = issue_key(KeyKind.WRITE), issue_key(KeyKind.WRITE)
    assert first.plaintext != second.plaintext
    assert key_kind_of(first.plaintext) is KeyKind.WRITE
    assert key_kind_of(issue_key(KeyKind.SECRET).plaintext) is KeyKind.SECRET
    assert first.hash == hash_key(first.plaintext) != first.plaintext
    assert len(first.hash) == 64


async def test_admin_creates_tenant_and_keys_resolve_only_to_it(
    base_settings: dict[str, Any], sessions: Any
) -> None:
    app = create_app(IngestSettings(**base_settings))
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        no_admin = await client.post("/v1/tenants", json={"name": "Acme"})
        assert no_admin.status_code == 401
        assert no_admin.json()["error"]["field"] == "authorization"

        admin = {"Authorization": "Bearer test-admin-token"}
        a = (await client.post("/v1/tenants", json={"name": "A"}, headers=admin)).json()
        b = (await client.post("/v1/tenants", json={"name": "B"}, headers=admin)).json()
        bad = await client.post("/v1/tenants", json={"name": ""}, headers=admin)
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "name"

    resolver = TenantResolver(sessions)
    tenant_a = await resolver.resolve(a["write_key"], KeyKind.WRITE)
    assert tenant_a is not None and tenant_a.id == a["id"]
    assert (await resolver.resolve(a["secret_key"], KeyKind.SECRET)).id == a["id"]  # type: ignore[union-attr]
    assert (await resolver.resolve(b["write_key"], KeyKind.WRITE)).id == b["id"]  # type: ignore[union-attr]
    assert await resolver.resolve(a["write_key"], KeyKind.SECRET) is None
    assert await resolver.resolve(a["write_key"] + "x", KeyKind.WRITE) is None
    assert await resolver.resolve("ampm_wk_nonsense", KeyKind.WRITE) is None


async def test_issued_key_is_shown_once_and_unknown_tenant_is_404(
    base_settings: dict[str, Any], sessions: Any
) -> None:
    app = create_app(IngestSettings(**base_settings))
    admin = {"Authorization": "Bearer test-admin-token"}
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, headers=admin) as client:
        created = (await client.post("/v1/tenants", json={"name": "C"})).json()
        issued = await client.post(f"/v1/tenants/{created['id']}/keys", json={"kind": "secret"})
        missing = await client.post("/v1/tenants/tn_missing/keys", json={"kind": "write"})
    assert issued.status_code == 201
    new_key = issued.json()["key"]
    assert new_key != created["secret_key"]
    assert (await TenantResolver(sessions).resolve(new_key, KeyKind.SECRET)).id == created["id"]  # type: ignore[union-attr]
    assert missing.status_code == 404
    assert missing.json()["error"]["field"] == "tenant_id"


async def test_cli_creates_a_tenant_whose_keys_authenticate(
    database_url: str, sessions: Any
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ampm.cli",
        "tenant",
        "create",
        "Northwind Vendor",
        env={**os.environ, "AMPM_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0
    printed = dict(line.split(":", 1) for line in output.decode().splitlines() if ":" in line)
    tenant_id, write_key = printed["tenant id"].strip(), printed["write key"].strip()
    assert printed["tenant name"].strip() == "Northwind Vendor"
    resolved = await TenantResolver(sessions).resolve(write_key, KeyKind.WRITE)
    assert resolved is not None and resolved.id == tenant_id


async def test_keys_are_listed_without_secrets_and_a_revoked_key_stops_working(
    base_settings: dict[str, Any],
) -> None:
    admin = {"Authorization": "Bearer test-admin-token"}
    # Two instances: the one that revokes forgets at once, the other within its cache time.
    cache = 0.5
    settings = IngestSettings(**base_settings, key_cache_seconds=cache)
    async with (
        serve_app(create_app(settings)) as first,
        serve_app(create_app(settings)) as second,
        httpx.AsyncClient(base_url=first) as http,
        httpx.AsyncClient(base_url=second) as other,
    ):
        tenant = (await http.post("/v1/tenants", json={"name": "Keys"}, headers=admin)).json()
        old = {"Authorization": f"Bearer {tenant['secret_key']}"}
        assert (await other.get("/v1/keys", headers=old)).status_code == 200  # now cached
        listed = (await http.get("/v1/keys", headers=old)).json()
        assert [(k["kind"], k["revoked_at"]) for k in listed["keys"]] == [
            ("write", None),
            ("secret", None),
        ]
        assert listed["revocation_delay_seconds"] == cache
        assert tenant["secret_key"] not in str(listed)
        assert listed["keys"][1]["prefix"] == tenant["secret_key"][:12]
        assert listed["keys"][1]["last_used_at"] is not None  # this very request looked it up

        # Rotate: a new secret key, then the old one revoked with the new one.
        created = await http.post("/v1/keys", json={"kind": "secret"}, headers=old)
        assert created.status_code == 201
        new = {"Authorization": f"Bearer {created.json()['key']}"}
        self_revoke = await http.delete(f"/v1/keys/{listed['keys'][1]['id']}", headers=old)
        assert self_revoke.status_code == 409
        assert self_revoke.json()["error"]["field"] == "key_id"
        revoked = await http.delete(f"/v1/keys/{listed['keys'][1]['id']}", headers=new)
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
        assert (await http.get("/v1/keys", headers=old)).status_code == 401  # at once here

        async def refused_elsewhere() -> bool:
            return (await other.get("/v1/keys", headers=old)).status_code == 401

        await eventually(refused_elsewhere, deadline_seconds=cache * 10)
        assert (await other.get("/v1/keys", headers=new)).status_code == 200

        # The operator sees and revokes any tenant's keys; another tenant's key is not found.
        keys = (await http.get(f"/v1/tenants/{tenant['id']}/keys", headers=admin)).json()
        write_id = keys["keys"][0]["id"]
        stranger = (await http.post("/v1/tenants", json={"name": "Other"}, headers=admin)).json()
        theirs = {"Authorization": f"Bearer {stranger['secret_key']}"}
        assert (await http.delete(f"/v1/keys/{write_id}", headers=theirs)).status_code == 404
        gone = await http.delete(f"/v1/tenants/{tenant['id']}/keys/{write_id}", headers=admin)
        assert gone.status_code == 200
        sent = await http.post(
            "/v1/events",
            json={"kind": "usage", "name": "x", "account_id": "a"},
            headers={"Authorization": f"Bearer {tenant['write_key']}"},
        )
        assert sent.status_code == 401


async def test_the_same_idempotency_key_creates_one_tenant(base_settings: dict[str, Any]) -> None:
    admin = {"Authorization": "Bearer test-admin-token", "Idempotency-Key": "onboard-acme-1"}
    app = create_app(IngestSettings(**base_settings))
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, headers=admin) as http:
        first = await http.post("/v1/tenants", json={"name": "Acme"})
        again = await http.post("/v1/tenants", json={"name": "Acme"})
        other = await http.post("/v1/tenants", json={"name": "Globex"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert other.status_code == 409
    assert other.json()["error"]["field"] == "Idempotency-Key"
