"""docker-compose.yml and the Dockerfile agree with the code they run (Docker is not needed)."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from typing import Any

import yaml

from services.console.settings import ConsoleSettings
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["ingest", "correlation", "equivalents", "notifier", "console"]
PORTS = [8001, 8002, 8003, 8004, 8006]


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose


def test_compose_runs_each_service_with_its_module_and_default_port() -> None:
    services = _compose()["services"]
    for name, port in zip(SERVICES, PORTS, strict=True):
        assert services[name]["command"] == ["python", "-m", f"services.{name}"]
        assert importlib.util.find_spec(f"services.{name}.__main__") is not None
        assert services[name]["ports"] == [f"{port}:{port}"]
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def _environment_names(settings: type[ServiceSettings]) -> set[str]:
    return {
        field.validation_alias if isinstance(field.validation_alias, str) else f"AMPM_{name}"
        for name, field in settings.model_fields.items()
    }


def test_compose_environment_uses_only_real_settings() -> None:
    known = {name.upper() for name in _environment_names(ConsoleSettings)}
    for name in [*SERVICES, "migrate"]:
        environment = _compose()["services"][name]["environment"]
        assert set(environment) <= known, set(environment) - known
        assert environment["AMPM_DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_migration_job_uses_the_console_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    command = _compose()["services"]["migrate"]["command"]
    assert "ampm migrate" in command[-1] and "ampm topics" in command[-1]
    assert scripts["ampm"] == "ampm.cli:main"


def test_dockerfile_installs_the_project_and_runs_a_service_module() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "RUN pip install ." in dockerfile
    assert 'CMD ["python", "-m", "services.ingest"]' in dockerfile
    for copied in ("pyproject.toml", "alembic.ini", "ampm", "shared", "services"):
        assert copied in dockerfile
