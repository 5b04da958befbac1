"""The ``ampm`` command: local broker, migrations, tenants and the whole local system.

ampm kafka fetch|start|stop|status   the local Apache Kafka broker (no Docker)
ampm migrate                          upgrade the database to the latest migration
ampm topics                           create every topic with the configured partitions
ampm tenant create NAME               create a tenant and print its id and keys once
ampm dev                              run broker + four services + demo tenant until Ctrl-C
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from ampm.local import kafka as local_kafka
from ampm.migrate import upgrade
from shared.db import create_engine, create_session_factory, is_sqlite
from shared.logging import configure_logging
from shared.service import bootstrap_topics
from shared.settings import ServiceSettings
from shared.tenancy.store import CreatedTenant, create_tenant


class NotMigrated(Exception):
    """The database a command needs does not exist or has no tables yet."""


def _require_sqlite_file(database_url: str) -> None:
    """Connecting to a missing SQLite file would create an empty one: look before connecting."""
    path = Path(make_url(database_url).database or "")
    if is_sqlite(database_url) and not path.exists():
        raise NotMigrated(f"no database file at {path.resolve()}")


async def _create_tenant(settings: ServiceSettings, name: str) -> CreatedTenant:
    url = make_url(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine).begin() as session:
            try:
                return await create_tenant(session, name)
            except (OperationalError, ProgrammingError) as exc:
                raise NotMigrated(
                    f"{url.render_as_string(hide_password=True)} has no tables"
                ) from exc
    finally:
        await engine.dispose()


def print_tenant(created: CreatedTenant) -> None:
    """The keys are shown here once; only their hashes are stored."""
    print(f"tenant id:   {created.tenant.id}")
    print(f"tenant name: {created.tenant.name}")
    print(f"write key:   {created.write_key.plaintext}")
    print(f"secret key:  {created.secret_key.plaintext}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ampm`` console script."""
    parser = argparse.ArgumentParser(
        prog="ampm", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    kafka = commands.add_parser("kafka", help="the local Kafka broker")
    kafka.add_argument("action", choices=["fetch", "start", "stop", "status"])
    commands.add_parser("migrate", help="upgrade the database to head")
    commands.add_parser("topics", help="create every topic")
    tenant = commands.add_parser("tenant", help="tenant management")
    tenant.add_argument("action", choices=["create"])
    tenant.add_argument("name")
    commands.add_parser("dev", help="run the whole system locally")
    args = parser.parse_args(argv)

    settings = ServiceSettings()
    configure_logging(settings.log_level, json=False)
    if args.command == "kafka":
        return local_kafka.main([args.action])
    if args.command == "migrate":
        upgrade(settings.database_url)
        print("database at the latest migration")
        return 0
    if args.command == "topics":
        topics = asyncio.run(bootstrap_topics(settings))
        print("topics: " + ", ".join(topics.all()))
        return 0
    if args.command == "tenant":
        try:
            _require_sqlite_file(settings.database_url)
            print_tenant(asyncio.run(_create_tenant(settings, args.name)))
        except NotMigrated as exc:
            print(
                f"ampm tenant: {exc}; run `ampm migrate` first (database: AMPM_DATABASE_URL)",
                file=sys.stderr,
            )
            return 2
        return 0
    from ampm.local.supervisor import run_local_system

    return run_local_system(settings)


if __name__ == "__main__":
    sys.exit(main())
