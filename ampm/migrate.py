"""Run Alembic migrations from code (``ampm migrate``) with the packaged environment.

One history with a branch per service: the tenancy baseline (``shared/migrations/``, with the
other shared tables) is the root, and each service's migrations live beside its tables in
``services/<name>/migrations/`` and carry its name as branch label, so services evolve their
tables independently. Add one with
``alembic revision --head notifier@head --version-path services/notifier/migrations -m ...``.
``upgrade`` goes to every head.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import pkgutil
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

import services
import shared
from shared.db import Base, create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def version_locations() -> list[Path]:
    """The shared tables' migrations, then each service's that has some."""
    services_dir = Path(services.__path__[0])
    return [
        Path(shared.__path__[0]) / "migrations",
        *sorted(path for path in services_dir.glob("*/migrations") if path.is_dir()),
    ]


def import_all_tables() -> None:
    """Import the shared tables, the tenancy tables and every ``services.<name>.tables`` so
    ``Base`` knows them."""
    importlib.import_module("shared.tables")
    importlib.import_module("shared.tenancy.tables")
    for service in pkgutil.iter_modules(services.__path__):
        if importlib.util.find_spec(f"services.{service.name}.tables") is not None:
            importlib.import_module(f"services.{service.name}.tables")


def alembic_config(database_url: str) -> Config:
    """The same configuration as alembic.ini, pointed at ``database_url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations", os.pathsep.join(str(path) for path in version_locations())
    )
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Upgrade the database; run it outside an event loop (Alembic runs its own)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def drift(database_url: str) -> list[Any]:
    """Differences between the declared tables and a migrated database (empty: no drift).

    The same comparison as ``alembic check``, which only accepts a single head.
    """
    import_all_tables()

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [
            diff
            for diff in compare_metadata(context, Base.metadata)
            if not (diff[0] == "remove_table" and diff[1].name == "alembic_version")
        ]

    async def run() -> list[Any]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())
