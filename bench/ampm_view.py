"""Benchmark the AM/PM view: a plan of 10 activities x 2 objectives x 26 weekly periods.

    .venv/bin/python bench/ampm_view.py                   # 300 requests
    .venv/bin/python bench/ampm_view.py --requests 1000

(a) in-process: loading nothing, the pure part of the view (series, lead/lag verdicts with their
FDR control, raw coefficients, projections) on the same data, repeated;
(b) HTTP: ``GET /v1/accounts/{id}/ampm`` from one keep-alive client against one uvicorn worker
(``python -m services.correlation`` in a subprocess), which also reads the plan and 26 x 21
buckets from PostgreSQL and serialises every verdict and coefficient.
Prints p50/p99 latency of both; the goal is p99 < 100 ms over HTTP.

The buckets are written straight into the database (the consumer's upsert), since the view, not
the ingestion, is measured. Starts its own throwaway broker and PostgreSQL cluster, unless
``AMPM_KAFKA_BOOTSTRAP_SERVERS`` / ``AMPM_DATABASE_URL`` point at existing ones.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from load import wait_up

from ampm.local.paths import free_port
from ampm.local.stack import create_database, create_tenant_keys, throwaway_infrastructure
from services.correlation import bucket_store, store
from services.correlation.buckets import Bucket, last_complete_period, period_start, shift_period
from services.correlation.correlations import correlate_plan
from services.correlation.evaluation import AccountState, account_series, projections
from services.correlation.event_time import EvaluationConfig
from services.correlation.itinerary import plan_verdicts
from services.correlation.plans import SuccessPlan
from shared.db import create_engine, create_session_factory

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "bench-account"
PERIODS = 26


def plan_body(deadline: date) -> dict[str, object]:
    """Two objectives and ten activities."""
    return {
        "objectives": [
            {"metric": f"kpi_{i}", "baseline": 1.0, "target": 2.0, "direction": "up",
             "deadline": deadline.isoformat(), "aggregation": "last"}
            for i in range(2)
        ],
        "itinerary": [
            {"metric": f"activity_{i}", "category": "process", "target_per_period": 10,
             "direction": "increase"}
            for i in range(10)
        ],
    }  # fmt: skip


def buckets(tenant_id: str, now: datetime) -> list[Bucket]:
    """26 weeks of every metric; kpi_0 follows activity_0 two weeks later."""
    rng = np.random.default_rng(1)
    last = last_complete_period(now)
    keys = [shift_period(last, i - PERIODS + 1) for i in range(PERIODS)]
    values = {f"activity_{i}": rng.normal(20, 4, PERIODS) for i in range(10)}
    values["kpi_0"] = 1.5 + 0.1 * np.roll(values["activity_0"], 2) + rng.normal(0, 0.05, PERIODS)
    values["kpi_1"] = 1.5 + np.cumsum(rng.normal(0, 0.05, PERIODS))
    return [
        Bucket.open(
            tenant_id=tenant_id,
            account_id=ACCOUNT,
            metric=metric,
            value=float(value),
            occurred_at=period_start(key) + timedelta(days=2),
        )
        for metric, series in values.items()
        for key, value in zip(keys, series, strict=True)
    ]


def in_process(plan: SuccessPlan, data: list[Bucket], now: datetime, requests: int) -> list[float]:
    """Latencies (s) of the view's pure part on the same buckets."""
    by_metric: dict[str, list[Bucket]] = {}
    for bucket in data:
        by_metric.setdefault(bucket.metric, []).append(bucket)
    config = EvaluationConfig()
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        series = account_series(AccountState(ACCOUNT, plan, (), by_metric), now, config)
        plan_verdicts(plan, series, config)
        correlate_plan(plan, series, max_lag=config.max_lag, min_points=config.min_points)
        projections(plan, series)
        latencies.append(time.perf_counter() - started)
    return latencies


def quantiles(latencies: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


async def run(args: argparse.Namespace, workdir: Path) -> None:
    now = datetime.now(UTC)
    async with throwaway_infrastructure(
        workdir, bootstrap_variable="AMPM_KAFKA_BOOTSTRAP_SERVERS"
    ) as infrastructure:
        database_url = await create_database(infrastructure.maintenance_url, prefix="ampm_bench")
        created = await create_tenant_keys(database_url, f"bench-{uuid.uuid4().hex[:6]}")
        key, tenant_id = created.secret_key.plaintext, created.tenant.id
        data = buckets(tenant_id, now)
        engine = create_engine(database_url)
        async with create_session_factory(engine).begin() as session:
            await store.ensure_accounts(session, [(tenant_id, ACCOUNT)], now)
            await bucket_store.upsert_buckets(session, data)
        await engine.dispose()

        port = free_port()
        env = {
            **os.environ,
            "AMPM_KAFKA_BOOTSTRAP_SERVERS": infrastructure.bootstrap_servers,
            "AMPM_DATABASE_URL": database_url,
            "AMPM_TOPIC_NAMESPACE": f"bench{uuid.uuid4().hex[:6]}.",
            "AMPM_CORRELATION_PORT": str(port),
            "AMPM_LOG_LEVEL": "warning",
        }
        server = subprocess.Popen([sys.executable, "-m", "services.correlation"], cwd=ROOT, env=env)  # noqa: ASYNC220
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_up(url, server, "correlation")
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
                body = plan_body(date(now.year + 1, 6, 30))
                put = await http.put(f"/v1/accounts/{ACCOUNT}/success-plan", json=body)
                put.raise_for_status()
                plan = SuccessPlan.model_validate(put.json())
                path = f"/v1/accounts/{ACCOUNT}/ampm"
                for _ in range(10):  # warm-up: key cache, connection, imports
                    (await http.get(path)).raise_for_status()
                remote = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    response = await http.get(path)
                    remote.append(time.perf_counter() - started)
                    response.raise_for_status()
                view = response.json()
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
        moves = [v["activity"] for v in view["verdicts"] if v["verdict"] == "moves_objective"]
        local = in_process(plan, data, now, args.requests)
        a50, a99 = quantiles(local)
        b50, b99 = quantiles(remote)
        print(f"plan: 10 activities x 2 objectives x {PERIODS} weeks; moves_objective: {moves}")
        print(f"(a) in-process view: p50 {a50:6.1f} ms, p99 {a99:6.1f} ms")
        print(f"(b) HTTP GET .../ampm: p50 {b50:6.1f} ms, p99 {b99:6.1f} ms "
              f"({args.requests} requests, 1 client, 1 uvicorn worker); goal p99 < 100 ms")  # fmt: skip
        print(f"ratio p99 (b)/(a): {b99 / a99:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per phase")
    args = parser.parse_args()
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="ampm-bench-") as workdir:
        asyncio.run(run(args, Path(workdir)))


if __name__ == "__main__":
    main()
