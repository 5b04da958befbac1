"""A service as its own OS process (``python -m services.<name>``).

``make dev``, the end-to-end tests (which kill and restart services) and the soak benchmark
all run the services this way.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from ampm.local.paths import free_port


class ServiceProcess:
    """One service process on a free port with the given ``AMPM_`` environment."""

    def __init__(
        self,
        name: str,
        environment: dict[str, str],
        log_dir: Path | None = None,
        *,
        port: int | None = None,
        module: str | None = None,
        ready_path: str = "/readyz",
    ) -> None:
        self.name = name
        self.module = module or f"services.{name}"
        self.ready_path = ready_path
        self.port = port or free_port()
        self.environment = {
            **os.environ,
            **environment,
            f"AMPM_{name.upper()}_PORT": str(self.port),
        }
        self.environment.setdefault("AMPM_LOG_JSON", "false")
        # Without a log directory the output goes to this process's terminal (make dev).
        self.log_file = log_dir / f"{name}-{self.port}.log" if log_dir else None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, ready_within: float = 60.0) -> None:
        """Start the process and wait until its readiness path answers 200."""
        process = self._launch()
        async with httpx.AsyncClient(timeout=2.0) as client:
            async with asyncio.timeout(ready_within):
                while True:
                    if process.poll() is not None:
                        raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
                    try:
                        if (await client.get(f"{self.url}{self.ready_path}")).status_code == 200:
                            return
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def exited(self) -> int | None:
        """The exit code once the process has ended, else None."""
        return self._process.poll() if self._process else None

    def _launch(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", self.module]
        if self.log_file is None:
            self._process = subprocess.Popen(
                command, env=self.environment, stdin=subprocess.DEVNULL
            )
            return self._process
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self._process

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush, as a crash."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        if self.log_file is None:
            return "(output went to the terminal)"
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"
