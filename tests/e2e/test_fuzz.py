"""Schemathesis against every service's OpenAPI schema: no 5xx, every error body JSON, and
every answer one the document promises (its status listed, its body matching the schema).

Valid and invalid inputs are generated from each operation's schema and sent, with the
tenant's keys, to the real services; the number of examples is bounded so CI stays fast.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import SERVICES, System

pytestmark = pytest.mark.integration

EXAMPLES_PER_MODE = 12
# The document's promises each answer is checked against.
CONFORMANCE = [status_code_conformance, response_schema_conformance, content_type_conformance]
# CI runs the same examples every time; set AMPM_FUZZ_EXPLORE=1 to draw new ones locally.
EXPLORE = os.environ.get("AMPM_FUZZ_EXPLORE") == "1"
SEGMENT_PATHS = {
    f"/v1/{name}" for name in ("batch", "track", "identify", "group", "page", "screen", "alias")
}


def _authorization(system: System, path: str) -> str:
    if path.startswith("/v1/tenants"):
        return f"Bearer {system.environment['AMPM_ADMIN_TOKEN']}"
    if path in SEGMENT_PATHS:
        basic = base64.b64encode(f"{system.tenant.write_key.plaintext}:".encode()).decode()
        return f"Basic {basic}"
    if path == "/v1/events":
        return f"Bearer {system.tenant.write_key.plaintext}"
    return f"Bearer {system.tenant.secret_key.plaintext}"


def _fuzz(
    system: System, service: str, schema_document: dict[str, Any]
) -> tuple[list[str], dict[str, int]]:
    """Run every operation of one service; returns the failures and requests per status."""
    schema = schemathesis.openapi.from_dict(schema_document)
    failures: list[str] = []
    statuses: dict[str, int] = {}
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"{service}: an operation has an invalid schema: {result.err()}")
            continue
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # Operations without parameters have no invalid input to generate.
            with contextlib.suppress(Unsatisfiable):
                _run_operation(system, service, operation, mode, failures, statuses)
    return failures, statuses


def _run_operation(
    system: System,
    service: str,
    operation: Any,
    mode: GenerationMode,
    failures: list[str],
    statuses: dict[str, int],
) -> None:
    base_url = system.url(service)
    authorization = _authorization(system, operation.path)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        derandomize=not EXPLORE,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": authorization}
        response = case.call(base_url=base_url, timeout=30)
        family = f"{response.status_code // 100}xx"
        statuses[family] = statuses.get(family, 0) + 1
        where = f"{service} {case.method} {case.formatted_path} -> {response.status_code}"
        if response.status_code >= 500:
            failures.append(f"{where}: {response.text[:300]}")
            return
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except FailureGroup as group:
            failures.extend(
                f"{where}: {failure.title}: {failure.message[:300]}" for failure in group.exceptions
            )
        except AssertionError as failure:
            failures.append(f"{where}: {str(failure)[:300]} body {response.text[:200]}")
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                failures.append(f"{where}: error body is not JSON: {response.text[:200]}")
                return
            if not isinstance(body, dict):
                failures.append(f"{where}: error body is not an object")

    check()


@pytest.mark.parametrize("service", SERVICES)
async def test_no_server_errors_and_json_error_bodies(system: System, service: str) -> None:
    async with httpx.AsyncClient() as client:
        document = (await client.get(f"{system.url(service)}/openapi.json")).json()
    assert document["paths"], f"{service} publishes no operations"
    failures, statuses = await asyncio.to_thread(_fuzz, system, service, document)
    assert failures == [], "\n".join(failures[:20])
    # Both valid requests and rejected ones reached the service.
    assert statuses.get("2xx", 0) > 0 and statuses.get("4xx", 0) > 0, statuses
