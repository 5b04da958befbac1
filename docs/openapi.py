"""Build docs/openapi/<service>.json, the OpenAPI document of each service, from the code.

Run ``.venv/bin/python docs/openapi.py`` after changing a route or a model; the test suite fails
while a committed document differs from what the service publishes at ``/openapi.json``, and
validates each one with openapi-spec-validator.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fastapi import FastAPI  # noqa: E402

from services.correlation.app import create_app as correlation_app  # noqa: E402
from services.correlation.settings import CorrelationSettings  # noqa: E402
from services.equivalents.app import create_app as equivalents_app  # noqa: E402
from services.equivalents.settings import EquivalentsSettings  # noqa: E402
from services.ingest.app import create_app as ingest_app  # noqa: E402
from services.ingest.settings import IngestSettings  # noqa: E402
from services.notifier.app import create_app as notifier_app  # noqa: E402
from services.notifier.settings import NotifierSettings  # noqa: E402

DOCUMENTS = Path(__file__).with_name("openapi")
# Building an app connects to nothing; the lifespan (never run here) opens the database.
UNUSED_DATABASE = "sqlite+aiosqlite:///unused.db"
APPS: dict[str, Callable[[], FastAPI]] = {
    "ingest": lambda: ingest_app(IngestSettings(database_url=UNUSED_DATABASE)),
    "correlation": lambda: correlation_app(CorrelationSettings(database_url=UNUSED_DATABASE)),
    "equivalents": lambda: equivalents_app(EquivalentsSettings(database_url=UNUSED_DATABASE)),
    "notifier": lambda: notifier_app(NotifierSettings(database_url=UNUSED_DATABASE)),
}


def document(service: str) -> dict[str, Any]:
    """The OpenAPI document ``service`` publishes."""
    return APPS[service]().openapi()


def render(service: str) -> str:
    return json.dumps(document(service), indent=2, sort_keys=True) + "\n"


def main() -> None:
    DOCUMENTS.mkdir(exist_ok=True)
    for service in APPS:
        path = DOCUMENTS / f"{service}.json"
        path.write_text(render(service))
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
