"""The ``ampm`` command tells a newcomer what to run instead of printing a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from ampm.cli import main


def test_tenant_create_without_a_database_says_to_migrate_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "ampm.db"
    monkeypatch.setenv("AMPM_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    assert main(["tenant", "create", "acme"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and str(database) in error and "ampm migrate" in error
    assert not database.exists()


def test_tenant_create_on_an_empty_database_says_to_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "empty.db"
    database.touch()
    monkeypatch.setenv("AMPM_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    assert main(["tenant", "create", "acme"]) == 2
    assert "has no tables" in capsys.readouterr().err
