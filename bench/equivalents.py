"""Benchmark ``POST /v1/equivalents/convert`` over HTTP against the same conversion in-process.

    .venv/bin/python bench/equivalents.py                  # a few seconds per phase
    .venv/bin/python bench/equivalents.py --seconds 20     # longer runs
    .venv/bin/python bench/equivalents.py --clients 16     # more concurrent keep-alive clients
    .venv/bin/python bench/equivalents.py --profile        # pyinstrument profile of the server

(a0) in-process, uncached: ``convert_request`` on the shipped catalog with tenant parameters,
pint evaluating every chain on every call (what the endpoint did before it compiled chains);
(a) in-process: the same through ``Converter``, the pure domain call the endpoint makes, in a
loop on one core;
(b) HTTP: the same conversion through one uvicorn worker (``python -m services.equivalents`` in a
subprocess, its events consumer running), from concurrent keep-alive aiohttp clients in this
process. Each request authenticates the secret key (cached), takes the tenant's catalog from the
instance's cache (kept current by change notices) and its compiled chain, and serialises every
equivalent with its trace.
(c) the floor: ``GET /healthz`` on the same server and clients, the cost of the HTTP stack
(uvicorn, FastAPI routing and middleware, the benchmark's own clients on the same cores) with
no work.
Prints conversions/s of each and the ratios: (b)/(a) is the goal's; (b)/(a0) compares with
in-process as it was; (b)/(c) says how much of the HTTP path is the conversion.

Starts its own throwaway broker and PostgreSQL cluster, unless ``AMPM_KAFKA_BOOTSTRAP_SERVERS`` /
``AMPM_DATABASE_URL`` (a database to migrate and use) point at existing ones.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import orjson
from load import closed_loop, wait_up

from ampm.local.paths import free_port
from ampm.local.stack import create_database, create_tenant_keys, throwaway_infrastructure
from services.equivalents.catalog import load_shipped_catalog
from services.equivalents.compiled import Converter
from services.equivalents.conversions import ConversionRequest, convert_request

ROOT = Path(__file__).resolve().parent.parent
PARAMS = {"minutes_per_transaction": 3, "hourly_wage": 40}
CONVERSIONS = {
    "kwh": {"quantity": 1000, "unit": "kWh", "mode": "avoided"},
    "transactions": {"quantity": 12400, "metric": "transactions_processed"},
}


def in_process(body: dict[str, object], seconds: float) -> tuple[float, float, int]:
    """Conversions/s of the pure domain call, uncached (pint on every call) and through the
    service's ``Converter`` (chains compiled once per tenant catalog), and how many equivalents
    one conversion gives. The quantity changes on every call, as it does between requests."""
    catalog = load_shipped_catalog()
    request = ConversionRequest(
        quantity=float(body["quantity"]),  # type: ignore[arg-type]
        unit=body.get("unit"),  # type: ignore[arg-type]
        metric=body.get("metric"),  # type: ignore[arg-type]
        mode=body.get("mode"),  # type: ignore[arg-type]
    )
    converter = Converter()

    def full(quantity: float) -> int:
        return len(convert_request(replace(request, quantity=quantity), catalog, PARAMS))

    def compiled(quantity: float) -> int:
        asked = replace(request, quantity=quantity)
        return len(converter.convert(asked, catalog, PARAMS, catalog_key="bench"))

    rates = []
    for convert in (full, compiled):
        count = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            produced = convert(request.quantity + count)
            count += 1
        rates.append(count / (time.perf_counter() - started))
    return rates[0], rates[1], produced


async def over_http(
    url: str, key: str, body: dict[str, object], clients: int, seconds: float
) -> tuple[float, float, float]:
    """Conversions/s over HTTP and the p50/p99 latency in milliseconds."""
    content = orjson.dumps(body)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return await closed_loop(
        url, "/v1/equivalents/convert", content, headers, clients=clients, seconds=seconds
    )


async def run(args: argparse.Namespace, workdir: Path) -> None:
    body = CONVERSIONS[args.conversion]
    async with throwaway_infrastructure(
        workdir, bootstrap_variable="AMPM_KAFKA_BOOTSTRAP_SERVERS"
    ) as infrastructure:
        bootstrap = infrastructure.bootstrap_servers
        database_url = await create_database(infrastructure.maintenance_url, prefix="ampm_bench")
        created = await create_tenant_keys(database_url, f"bench-{uuid.uuid4().hex[:6]}")
        key = created.secret_key.plaintext

        uncached, local, produced = in_process(body, args.seconds)
        print(f"conversion: {orjson.dumps(body).decode()} -> {produced} equivalents each")
        print(f"(a0) in-process, pint on every call: {uncached:>9,.0f} conversions/s (1 core)")
        print(f"(a) in-process, compiled chains:     {local:>9,.0f} conversions/s "
              f"({local / uncached:.1f}x (a0))")  # fmt: skip

        port = free_port()
        env = {
            **os.environ,
            "AMPM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "AMPM_DATABASE_URL": database_url,
            "AMPM_TOPIC_NAMESPACE": f"bench{uuid.uuid4().hex[:6]}.",
            "AMPM_EQUIVALENTS_PORT": str(port),
            "AMPM_LOG_LEVEL": "warning",
        }
        command = [sys.executable, "-m", "services.equivalents"]
        if args.profile is not None:
            command = [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", str(args.profile),
                       "-m", "services.equivalents"]  # fmt: skip
        server = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: ASYNC220
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_up(url, server, "equivalents")
            async with httpx.AsyncClient(base_url=url) as http:
                await http.put(
                    "/v1/equivalents/parameters",
                    json={"params": PARAMS},
                    headers={"Authorization": f"Bearer {key}"},
                )
            await over_http(url, key, body, 2, 0.5)  # warm-up: key cache, connections
            remote, p50, p99 = await over_http(url, key, body, args.clients, args.seconds)
            print(f"(b) HTTP POST /v1/equivalents/convert: {remote:>9,.0f} conversions/s "
                  f"(p50 {p50:.1f} ms, p99 {p99:.1f} ms; {args.clients} keep-alive clients, "
                  "1 uvicorn worker)")  # fmt: skip
            floor, _, _ = await closed_loop(
                url, "/healthz", None, {}, clients=args.clients, seconds=args.seconds
            )
            print(f"(c) HTTP GET /healthz, the stack alone: {floor:>9,.0f} requests/s")
            print(f"ratio (b)/(a): {remote / local:.2f}; (b)/(a0): {remote / uncached:.2f}; "
                  f"(b)/(c): {remote / floor:.2f}")  # fmt: skip
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients")
    parser.add_argument(
        "--conversion", choices=sorted(CONVERSIONS), default="kwh", help="which request to send"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        nargs="?",
        const=Path("equivalents-profile.txt"),
        default=None,
        help="profile the server with pyinstrument (text report to this file)",
    )
    args = parser.parse_args()
    # The broker readiness probe logs every refused connection while the broker starts.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="ampm-bench-") as workdir:
        asyncio.run(run(args, Path(workdir)))


if __name__ == "__main__":
    main()
