"""Every curl example of the README runs, in order, against the real stack with the demo loaded
(as ``make dev`` has it), and answers 2xx: the examples a newcomer copies stay true.

The README's shell blocks are run by bash with the real ``curl``, pointed at the test's ports
(``localhost:800N`` and the demo receiver's ``127.0.0.1:8005``). The variables the README leaves
to the reader (the tenant's keys and id, a key and a signal to revoke and acknowledge) are set
from the stack before the block that uses them.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ampm.local.demo import load_scenario
from ampm.local.demo_scenario import NORTHWIND
from tests.e2e.conftest import SERVICES, System, start_system, system_environment
from tests.notifier.receiver import Receiver
from tests.support.servers import serve_app
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
PORTS = {"ingest": 8001, "correlation": 8002, "equivalents": 8003, "notifier": 8004}
RECEIVER = "127.0.0.1:8005"
# Runs each ``curl`` of a block against the test's services; a 4xx or 5xx fails the block.
PRELUDE = """set -euo pipefail
curl() {
  local args=() arg
  for arg in "$@"; do
    arg="${arg//localhost:8001/$URL_INGEST}"; arg="${arg//localhost:8002/$URL_CORRELATION}"
    arg="${arg//localhost:8003/$URL_EQUIVALENTS}"; arg="${arg//localhost:8004/$URL_NOTIFIER}"
    arg="${arg//127.0.0.1:8005/$URL_RECEIVER}"
    args+=("$arg")
  done
  echo "+ curl ${args[*]}" >&2
  command curl -sS --fail-with-body "${args[@]}"
  echo
}
"""


def shell_blocks(text: str) -> list[list[str]]:
    """The commands of each ``sh`` block that has a curl: curl commands (with their
    continuation lines and multi-line quotes) and variable assignments, in order."""
    blocks = []
    for body in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        commands: list[str] = []
        pending = ""
        for line in body.splitlines():
            if not pending and not (line.startswith("curl ") or re.match(r"[A-Z_]+=", line)):
                continue
            pending = f"{pending}\n{line}" if pending else line
            if pending.endswith("\\") or not _complete(pending):
                continue
            commands.append(pending)
            pending = ""
        if any(command.startswith("curl ") for command in commands):
            blocks.append(commands)
    return blocks


def _complete(command: str) -> bool:
    try:
        shlex.split(command, comments=True)
    except ValueError:  # an open quote: the command goes on on the next line
        return False
    return True


@pytest.fixture
async def demo(
    base_settings: dict[str, Any], tenant: Any, tmp_path: Path
) -> AsyncIterator[tuple[System, str]]:
    """The stack with the demo replayed through its APIs and judged, and a receiver's URL."""
    environment = system_environment(base_settings) | {
        "AMPM_CORRELATION_TAIL_IDLE_SECONDS": "1",
        "AMPM_CORRELATION_SWEEP_INTERVAL_SECONDS": "5",
    }
    system = await start_system(environment, tenant, tmp_path)
    receiver = Receiver()
    try:
        async with serve_app(receiver.app()) as receiver_url:
            urls = {name: system.url(name) for name in SERVICES}
            await asyncio.to_thread(
                load_scenario,
                urls,
                tenant.write_key.plaintext,
                tenant.secret_key.plaintext,
            )
            async with httpx.AsyncClient(headers=system.secret_headers()) as http:

                async def judged() -> bool:
                    health = await http.get(f"{urls['correlation']}/v1/accounts/{NORTHWIND}/health")
                    return health.status_code == 200 and bool(health.json()["judged_through"])

                await eventually(judged, deadline_seconds=120)
            yield system, receiver_url
    finally:
        for service in system.services.values():
            service.stop()


async def _variables(system: System, needed: set[str]) -> dict[str, str]:
    """The values the README leaves to the reader, for the variables a block uses."""
    found = {
        "SECRET_KEY": system.tenant.secret_key.plaintext,
        "WRITE_KEY": system.tenant.write_key.plaintext,
        "AMPM_ADMIN_TOKEN": system.environment["AMPM_ADMIN_TOKEN"],
        "TENANT": system.tenant.tenant.id,
    }
    async with httpx.AsyncClient(headers=system.secret_headers()) as http:
        if "KEY_ID" in needed:  # a key made for the occasion, so revoking it breaks nothing
            created = await http.post(f"{system.url('ingest')}/v1/keys", json={"kind": "write"})
            found["KEY_ID"] = str(created.json()["id"])
        if "ERASURE_ID" in needed:  # an erasure of somebody the examples never name
            asked = await http.post(
                f"{system.url('ingest')}/v1/erasures", json={"person_id": "p-readme"}
            )
            found["ERASURE_ID"] = str(asked.json()["id"])
        if "SIGNAL_ID" in needed:  # the sponsor departure the ingest example posted

            async def open_signal() -> str | None:
                listed = await http.get(
                    f"{system.url('correlation')}/v1/accounts/northwind/signals",
                    params={"state": "open"},
                )
                signals = listed.json().get("signals", []) if listed.status_code == 200 else []
                return signals[0]["id"] if signals else None

            found["SIGNAL_ID"] = await eventually(open_signal)
    return found


async def test_every_readme_example_answers_as_documented(
    demo: tuple[System, str], tmp_path: Path
) -> None:
    system, receiver_url = demo
    assert shutil.which("curl"), "the README's examples need curl"
    blocks = shell_blocks(README.read_text())
    curls = [c for block in blocks for c in block if c.startswith("curl ")]
    assert len(curls) >= 40, len(curls)
    environment = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "URL_RECEIVER": receiver_url.removeprefix("http://"),
        **{f"URL_{name.upper()}": system.url(name).removeprefix("http://") for name in PORTS},
    }
    assignments: list[str] = []  # a reader's shell keeps them from one block to the next
    for number, block in enumerate(blocks, 1):
        assignments += [c for c in block if not c.startswith("curl ")]
        script = "\n".join([*assignments, *(c for c in block if c.startswith("curl "))])
        needed = set(re.findall(r"\$\{?([A-Z_]+)", script))
        environment |= await _variables(system, needed)
        done = await asyncio.to_thread(
            subprocess.run,
            ["bash", "-c", PRELUDE + script],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"README block {number}:\n{done.stderr}\n{done.stdout}"
