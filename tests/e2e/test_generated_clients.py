"""An integrator's first hour: generate a Python client for every service from the OpenAPI
document it publishes (openapi-python-client), with no warning and no operation skipped, and
call each one against the real stack."""

from __future__ import annotations

import asyncio
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import SERVICES, System

pytestmark = pytest.mark.integration

# Formatting the generated code (its default post hooks) is not what is tested.
CONFIG = "post_hooks: []\n"


def _generate(document: Path, package: Path) -> str:
    """Generate a client package; returns the generator's output."""
    config = package.parent / "openapi-python-client.yaml"
    config.write_text(CONFIG)
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("openapi-python-client")),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(package),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture
def generated(system: System, tmp_path: Path) -> Iterator[dict[str, ModuleType]]:
    """Each service's generated client package, importable as ``ampm_<service>``."""
    packages: dict[str, ModuleType] = {}
    sys.path.insert(0, str(tmp_path))
    try:
        for service in SERVICES:
            document = tmp_path / f"{service}.json"
            document.write_bytes(httpx.get(f"{system.url(service)}/openapi.json").content)
            output = _generate(document, tmp_path / f"ampm_{service}")
            assert "Warning" not in output and "WARNING" not in output, output
            packages[service] = importlib.import_module(f"ampm_{service}")
        yield packages
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("ampm_")]:
            del sys.modules[name]


def _module(service: str, name: str) -> Any:
    return importlib.import_module(f"ampm_{service}.{name}")


def _every_operation_generated(service: str, document: dict[str, Any]) -> None:
    api = Path(_module(service, "api").__file__ or "").parent
    generated = {path.stem for path in api.glob("*/*.py") if path.stem != "__init__"}
    for methods in document["paths"].values():
        for operation in methods.values():
            snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in operation["operationId"])
            assert snake in generated, (service, operation["operationId"])


async def test_a_client_generated_for_every_service_works_against_the_stack(
    system: System, generated: dict[str, ModuleType]
) -> None:
    def call() -> dict[str, Any]:
        for service in SERVICES:
            document = httpx.get(f"{system.url(service)}/openapi.json").json()
            _every_operation_generated(service, document)

        def client(service: str, token: str) -> Any:
            module = _module(service, "client")
            return module.AuthenticatedClient(base_url=system.url(service), token=token)

        secret = system.tenant.secret_key.plaintext
        write = system.tenant.write_key.plaintext
        native_batch = _module("ingest", "models").NativeBatch
        post_events = _module("ingest", "api.ingest.post_events")
        batch = native_batch.from_dict(
            {
                "events": [
                    {
                        "kind": "usage",
                        "name": "report.viewed",
                        "account_id": "generated-client",
                        "occurred_at": "2026-11-30T10:00:00Z",
                    }
                ]
            }
        )
        accepted = post_events.sync(client=client("ingest", write), body=batch)
        accounts = _module("correlation", "api.accounts.list_accounts").sync(
            client=client("correlation", secret)
        )
        catalog = _module("equivalents", "api.catalog.get_catalog").sync(
            client=client("equivalents", secret)
        )
        endpoints = _module("notifier", "api.webhook_endpoints.list_endpoints").sync(
            client=client("notifier", secret)
        )
        refused = _module("correlation", "api.accounts.get_account").sync_detailed(
            "no-such-account", client=client("correlation", secret)
        )
        return {
            "accepted": accepted,
            "accounts": accounts,
            "catalog": catalog,
            "endpoints": endpoints,
            "refused": refused,
        }

    answers = await asyncio.to_thread(call)
    assert answers["accepted"].accepted == 1 and len(answers["accepted"].ids) == 1
    assert answers["accounts"].total >= 0 and answers["accounts"].limit == 50
    assert len(answers["catalog"].entries) > 0
    assert answers["endpoints"] == []
    # Errors parse into the documented shared body.
    refused = answers["refused"]
    assert refused.status_code == 404
    assert refused.parsed.error.code == "account_not_found"
    assert refused.parsed.error.field == "account_id"
