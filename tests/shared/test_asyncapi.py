"""docs/asyncapi.yaml is valid AsyncAPI 3.0 and matches the message models (pure)."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import yaml

from shared.events import Envelope
from shared.signals import SignalChange
from shared.topics import Topics

ROOT = Path(__file__).resolve().parents[2]
# The official schema, from the @asyncapi/specs 6.11.1 package (schemas/3.0.0-without-$id.json).
OFFICIAL_SCHEMA = ROOT / "tests" / "data" / "asyncapi-3.0.0.schema.json"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("asyncapi_doc", ROOT / "docs" / "asyncapi.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())
    return document


def _errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(json.loads(OFFICIAL_SCHEMA.read_text()))
    return [error.message for error in validator.iter_errors(document)]


def test_document_is_valid_asyncapi_3() -> None:
    assert _errors(_document()) == []


def test_validator_rejects_a_broken_document() -> None:
    broken = copy.deepcopy(_document())
    del broken["info"]
    broken["channels"]["events"]["address"] = 42
    assert len(_errors(broken)) >= 2


def test_committed_document_is_what_the_models_build() -> None:
    """Regenerate with `.venv/bin/python docs/asyncapi.py` when this fails."""
    assert _document() == yaml.safe_load(_generator().render())


def test_every_topic_is_described_with_its_model() -> None:
    document = _document()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == set(Topics().all())
    schemas = document["components"]["schemas"]
    assert set(schemas["Envelope"]["properties"]) == set(Envelope.model_fields)
    assert set(schemas["SignalChange"]["properties"]) == set(SignalChange.model_fields)
    assert set(schemas["Envelope"]["required"]) == {
        name for name, field in Envelope.model_fields.items() if field.is_required()
    }
