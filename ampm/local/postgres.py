"""A real PostgreSQL server for the tests, from Debian's package, on a free port.

``python -m ampm.local.postgres install`` installs the server with apt when it is missing.
The test session starts a throwaway cluster (``initdb`` into a fresh directory, trust auth on
127.0.0.1 only) and gives each run a fresh database. PostgreSQL refuses to run as root, so as
root the server runs as the ``postgres`` system user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ampm.local.paths import free_port


class PostgresError(RuntimeError):
    """The server could not be installed, initialised or started."""


def server_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has ``initdb``."""
    root = Path("/usr/lib/postgresql")
    candidates = sorted(
        (p / "bin" for p in root.glob("*") if (p / "bin" / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def install() -> Path:
    """Install Debian's PostgreSQL server when no ``initdb`` is found."""
    found = server_bin_dir()
    if found is not None:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "postgresql"]):
        subprocess.run([*sudo, *command], check=True, env=env)
    found = server_bin_dir()
    if found is None:
        raise PostgresError("postgresql was installed but initdb is still missing")
    return found


class LocalPostgres:
    """One throwaway PostgreSQL cluster: ``start``, ``stop``, ``restart``, ``url(db)``."""

    def __init__(self, home: Path | None = None, port: int | None = None) -> None:
        bin_dir = server_bin_dir()
        if bin_dir is None:
            raise PostgresError(
                "PostgreSQL is not installed: run python -m ampm.local.postgres install"
            )
        self.bin_dir = bin_dir
        self.home = home or Path(tempfile.mkdtemp(prefix="ampm-pg-"))
        self.port = port or free_port()
        self.data_dir = self.home / "data"
        self.log_file = self.home / "postgres.log"
        self._as_user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_user:
            command = ["runuser", "-u", self._as_user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    def initialise(self) -> None:
        if self._as_user:
            entry = pwd.getpwnam(self._as_user)
            os.chown(self.home, entry.pw_uid, entry.pw_gid)
        result = self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        if result.returncode != 0:
            raise PostgresError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        if not self.data_dir.exists():
            self.initialise()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.home} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        result = self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        if result.returncode != 0:
            raise PostgresError(f"postgres did not start:\n{result.stdout}\n{self.log_tail()}")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except (FileNotFoundError, PermissionError):
            return "(no postgres log)"


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        print(f"postgresql server binaries in {install()}")
        return 0
    print("usage: python -m ampm.local.postgres install", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
