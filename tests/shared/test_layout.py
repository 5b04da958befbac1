"""The skeleton holds: shared code never imports a service, every service is laid out alike,
no module outgrows 400 lines, and the Alembic CLI reads the same migration folders as
``ampm migrate``."""

from __future__ import annotations

import ast
import configparser
import importlib
from pathlib import Path

import pytest

from ampm.migrate import version_locations
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]

SERVICES = ("ingest", "correlation", "equivalents", "notifier")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            modules.add(node.module)
    return modules


def test_shared_never_imports_a_service_or_the_ampm_package() -> None:
    offending = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / "shared").rglob("*.py")
        for module in _imported_modules(path)
        if module.split(".")[0] in ("services", "ampm")
    }
    assert offending == set()


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_files_with_a_small_consumer(service: str) -> None:
    folder = ROOT / "services" / service
    for name in ("app.py", "api.py", "consumer.py", "settings.py", "handlers.py", "errors.py"):
        assert (folder / name).is_file(), f"{service} has no {name}"
    assert len((folder / "consumer.py").read_text().splitlines()) <= 45
    # Its Subscription and handler types come from the one runner; no loop of its own.
    assert "shared.consuming" in _imported_modules(folder / "consumer.py")
    assert "while True" not in (folder / "consumer.py").read_text()


def test_no_module_of_the_services_shared_or_the_ampm_package_is_over_400_lines() -> None:
    longer = {
        f"{path.relative_to(ROOT)}: {lines}"
        for folder in ("services", "shared", "ampm")
        for path in (ROOT / folder).rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > 400
    }
    assert longer == set()


def test_the_alembic_cli_reads_the_folders_ampm_migrate_reads() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "alembic.ini")
    listed = [ROOT / part for part in config["alembic"]["version_locations"].split()]
    assert listed[0] == ROOT / "shared" / "migrations"
    assert sorted(listed) == sorted(version_locations())


@pytest.mark.parametrize("service", (*SERVICES, "console"))
def test_every_own_setting_is_named_ampm_service_field_in_the_environment(service: str) -> None:
    module = importlib.import_module(f"services.{service}.settings")
    (settings,) = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, ServiceSettings)
        and value is not ServiceSettings
    ]  # fmt: skip
    own = {
        name: field.validation_alias
        for name, field in settings.model_fields.items()
        if name not in ServiceSettings.model_fields
    }
    assert own, f"{service} has no settings of its own"
    assert own == {name: f"AMPM_{service}_{name}".upper() for name in own}
