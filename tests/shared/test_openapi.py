"""The four OpenAPI documents tell the truth: valid, no dangling references, security schemes,
the shared error body on every error, stable operation ids, and committed under docs/."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("openapi_doc", ROOT / "docs" / "openapi.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docs = _generator()

SERVICES = tuple(docs.APPS)
DOCUMENTS = {service: docs.document(service) for service in SERVICES}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


@pytest.mark.parametrize("service", SERVICES)
def test_document_is_valid_openapi(service: str) -> None:
    validate(DOCUMENTS[service])


@pytest.mark.parametrize("service", SERVICES)
def test_every_reference_resolves(service: str) -> None:
    document = DOCUMENTS[service]
    schemas = document["components"]["schemas"]
    refs = _refs(document)
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    assert "HTTPValidationError" not in schemas


@pytest.mark.parametrize("service", SERVICES)
def test_operation_ids_are_unique_camel_case_and_operations_are_tagged(service: str) -> None:
    operations = _operations(DOCUMENTS[service])
    ids = [operation["operationId"] for _, _, operation in operations]
    assert len(ids) == len(set(ids))
    for identifier in ids:
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", identifier), identifier
    assert all(operation.get("tags") for _, _, operation in operations)


@pytest.mark.parametrize("service", SERVICES)
def test_every_versioned_operation_documents_its_errors_in_the_shared_body(service: str) -> None:
    document = DOCUMENTS[service]
    schemes = set(document["components"]["securitySchemes"])
    for method, path, operation in _operations(document):
        if not path.startswith("/v1/"):
            continue
        responses = operation["responses"]
        where = f"{method} {path}"
        assert operation.get("security"), where
        for requirement in operation["security"]:
            assert set(requirement) <= schemes, where
        assert {"401", "503"} <= set(responses), where
        if "{" in path:
            assert {"400", "404", "422"} <= set(responses), where
        for status, response in responses.items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]["$ref"]
                assert schema.rsplit("/", 1)[-1] in {"ErrorBody", "SegmentErrorBody"}, where


def test_the_key_each_api_takes_is_a_security_scheme() -> None:
    assert set(DOCUMENTS["ingest"]["components"]["securitySchemes"]) == {
        "writeKey",
        "segmentWriteKey",
        "adminToken",
        "secretKey",
    }
    for service in ("correlation", "equivalents", "notifier"):
        assert set(DOCUMENTS[service]["components"]["securitySchemes"]) == {"secretKey"}
    segment = DOCUMENTS["ingest"]["paths"]["/v1/track"]["post"]
    assert {"segmentWriteKey"} in [set(r) for r in segment["security"]]
    error = segment["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/SegmentErrorBody")


@pytest.mark.parametrize("service", SERVICES)
def test_committed_document_is_what_the_service_publishes(service: str) -> None:
    """Regenerate with `.venv/bin/python docs/openapi.py` when this fails."""
    committed = json.loads((docs.DOCUMENTS / f"{service}.json").read_text())
    assert committed == json.loads(docs.render(service))
