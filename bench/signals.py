"""Judgement: a seeded portfolio's history through the real services, then live lifecycle events.

Starts its own Kafka broker and PostgreSQL (or uses AMPM_DATABASE_URL as maintenance database
and AMPM_TEST_KAFKA_BOOTSTRAP), runs ingest and correlation as processes, PUTs every account's
success plan (before its history, or after it for some accounts of ``scenarios``) and posts
``--weeks`` weeks of history through ``POST /v1/events`` as a vendor backfills when it connects
(``--order``: over the portfolio in event time, account by account, or shuffled; ``--batch``
events a request; ``--plans``: every plan put before the history, or after it), then ``--live-weeks`` more weeks as they would arrive live: a week's events of every account
at a time, in event-time order, the next week only once the service has read them.
The accounts come from independent generators (``--generator``): ``portfolio``
(``tests/support/portfolio.py``: clean accounts under five noise models, and each injected risk),
``scenarios`` (``tests/support/scenarios.py``: seven other noise models, risks over a range of
sizes and ages, plans without named people), ``fieldwork`` (``tests/support/fieldwork.py``:
daily usage in bursts, users replaced, young and sparse accounts, the period risks only) and
``teams`` (``tests/support/teams.py``: users swinging each on their own, drops from users who
leave or use less, fractional activity reports, the period risks only).
Once every account was judged through the last complete week, it prints:

- recall per signal type: accounts of that risk whose signal is open at the end (raised, for
  the final ``objective_achieved``);
- false alarms per signal type: clean accounts on which that type was ever published, as a share
  of the clean accounts (and per noise model);
- flaps: raise-then-resolve pairs published for clean accounts (in the backfill and the live
  weeks), and for risk accounts on their own type;
- evidence: open ``activity_off_track`` signals whose periods differ from the stored weeks, and
  open ``adoption_drop`` signals whose weeks or baseline differ from the usage events posted;
- live: ``stakeholder.departed`` of a sponsor posted now for ``--live`` accounts, the time from
  the POST to its ``signal.raised`` on the signals topic (p50/p99), against the baseline of the
  same POST to its event on the events topic, measured in the same run.

    .venv/bin/python bench/signals.py --clean 104 --per-risk 16 --weeks 20 --live-weeks 2
    .venv/bin/python bench/signals.py --order shuffled --batch 500
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ampm.local.processes import ServiceProcess  # noqa: E402
from ampm.local.stack import (  # noqa: E402
    create_database,
    create_tenant_keys,
    throwaway_infrastructure,
)
from services.correlation.buckets import last_complete_period, period_key  # noqa: E402
from shared.kafka import group_backlog  # noqa: E402
from shared.signals import SignalChange, SignalChangeType  # noqa: E402
from shared.topics import Topics  # noqa: E402
from tests.support.fieldwork import build_fieldwork  # noqa: E402
from tests.support.generated import GeneratedAccount  # noqa: E402
from tests.support.portfolio import RISK_KINDS, batches, build_portfolio  # noqa: E402
from tests.support.scenarios import build_scenarios  # noqa: E402
from tests.support.teams import build_teams  # noqa: E402


@dataclass(frozen=True)
class BenchAccount:
    """One generated account: its history, plan, truth and noise model."""

    account_id: str
    expected: str | None
    model: str
    events: list[dict[str, Any]]
    plan: dict[str, Any]
    plan_first: bool
    sponsor_id: str


def _bench_account(account: GeneratedAccount, sponsor_id: str) -> BenchAccount:
    """A generated account as the benchmark posts it; injected accounts share the model
    ``injected``."""
    model = account.model if account.expected is None else "injected"
    return BenchAccount(
        account.account_id,
        account.expected,
        model,
        account.events,
        account.plan,
        account.plan_first,
        sponsor_id,
    )


def generate(args: argparse.Namespace) -> list[BenchAccount]:
    """The accounts of the chosen generators (the clean and risk counts shared among them)."""
    chosen = GENERATORS if args.generator == "all" else (args.generator,)
    clean = args.clean // len(chosen)
    per_risk = max(1, args.per_risk // len(chosen))
    weeks = args.weeks + args.live_weeks
    found: list[BenchAccount] = []
    if "portfolio" in chosen:
        for a in build_portfolio(
            args.seed, clean=clean, per_risk=per_risk, weeks=weeks, scale=args.scale
        ):
            model = a.kind if a.expected is None else "injected"
            found.append(
                BenchAccount(
                    a.account_id, a.expected, model, a.events, a.plan, True, f"{a.account_id}-p0"
                )
            )
    if "scenarios" in chosen:
        for s in build_scenarios(args.seed, clean=clean, per_risk=per_risk, weeks=weeks):
            found.append(_bench_account(s, f"{s.account_id}-u0"))
    if "fieldwork" in chosen:
        for f in build_fieldwork(args.seed, clean=clean, per_risk=per_risk, weeks=weeks):
            found.append(_bench_account(f, f.sponsor_id))
    if "teams" in chosen:
        for t in build_teams(args.seed, clean=clean, per_risk=per_risk, weeks=weeks):
            found.append(_bench_account(t, t.plan["sponsor_id"]))
    if args.plans != "generator":  # every plan put before its history, or every one after it
        found = [replace(a, plan_first=args.plans == "first") for a in found]
    return found


def split_live(
    portfolio: list[BenchAccount], live_weeks: int, now: datetime
) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """(the history to backfill, then each live week's events): the last ``live_weeks``
    complete weeks and the current one are live, the week in progress with the last of them
    (with none, the whole history up to now is the backfill); each in event-time order over
    the portfolio."""
    events = sorted(
        (event for account in portfolio for event in account.events),
        key=lambda event: event["occurred_at"],
    )
    monday = datetime.combine(
        (now - timedelta(days=now.weekday())).date(), datetime.min.time(), tzinfo=UTC
    )
    starts = [monday - timedelta(weeks=live_weeks - n) for n in range(live_weeks)]
    if not starts:
        return events, []
    history = [e for e in events if datetime.fromisoformat(e["occurred_at"]) < starts[0]]
    live: list[list[dict[str, Any]]] = [[] for _ in starts]
    for event in events[len(history) :]:
        at = datetime.fromisoformat(event["occurred_at"])
        live[max(n for n, start in enumerate(starts) if at >= start)].append(event)
    return history, live


def ordered(history: list[dict[str, Any]], order: str, seed: int) -> list[dict[str, Any]]:
    """The backfill in the order a vendor sends it: over the portfolio in event time (``time``),
    each account's whole history in turn (``account``), or in no order at all (``shuffled``:
    an account's weeks arrive in any order, spread over the whole backfill)."""
    if order == "account":
        return sorted(history, key=lambda event: event["account_id"])  # stable: time within
    if order == "shuffled":
        shuffled = list(history)
        random.Random(seed).shuffle(shuffled)
        return shuffled
    return history


GENERATORS = ("portfolio", "scenarios", "fieldwork", "teams")
SERVICES = ("ingest", "correlation")
SWEEP_SECONDS = 5.0
BATCH = 1000


class Tape:
    """Every record of one topic, read from the beginning, with the time it was read."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
        )
        self.records: list[tuple[float, bytes]] = []
        self.arrived = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for record in self.consumer:
            self.records.append((time.perf_counter(), record.value or b""))
            self.arrived.set()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        await self.consumer.stop()


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (inclusive method) of ``values``; nan when empty."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


async def backfill(
    ingest: str,
    correlation: str,
    keys: dict[str, dict[str, str]],
    portfolio: list[BenchAccount],
    history: list[dict[str, Any]],
    size: int,
) -> tuple[int, float]:
    """PUT the plans (those of accounts that put it first), post the history in bodies of
    ``size`` events, PUT the other plans; (events posted, seconds)."""
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=120) as http:

        async def put_plans(first: bool) -> None:
            for account in portfolio:
                if account.plan_first is not first:
                    continue
                answer = await http.put(
                    f"{correlation}/v1/accounts/{account.account_id}/success-plan",
                    json=account.plan,
                    headers=keys["secret"],
                )
                answer.raise_for_status()

        await put_plans(first=True)
        await post(http, ingest, keys["write"], history, size)
        await put_plans(first=False)
    return len(history), time.perf_counter() - started


async def post(
    http: httpx.AsyncClient,
    ingest: str,
    write: dict[str, str],
    events: list[dict[str, Any]],
    size: int = BATCH,
) -> None:
    """Post ``events`` in request bodies of ``size``."""
    for body in batches(events, size):
        answer = await http.post(f"{ingest}/v1/events", json={"events": body}, headers=write)
        answer.raise_for_status()


async def live_weeks(
    ingest: str, write: dict[str, str], bootstrap: str, weeks: list[list[dict[str, Any]]]
) -> int:
    """Post each live week once the correlation service has read the one before; events
    posted."""
    async with httpx.AsyncClient(timeout=120) as http:
        for week in weeks:
            await post(http, ingest, write, week)
            await read_through(bootstrap)
    return sum(len(week) for week in weeks)


async def read_through(bootstrap: str) -> None:
    """Wait until the correlation group has read every event posted."""
    while True:
        if await group_backlog(bootstrap, "ampm-correlation", Topics().events) == 0:
            return
        await asyncio.sleep(0.5)


async def judged_quiet(
    bootstrap: str, correlation: str, secret: dict[str, str], portfolio: list[BenchAccount]
) -> float:
    """Wait until the correlation group has read every event, then until every account was
    judged through the last complete week (for most, by the sweeper once it was idle). Returns
    the seconds the consumer needed after the last POST."""
    started = time.perf_counter()
    await read_through(bootstrap)
    drained = time.perf_counter() - started
    last_week = last_complete_period(datetime.now(UTC))
    pending = {account.account_id for account in portfolio}
    async with httpx.AsyncClient(base_url=correlation, headers=secret, timeout=60) as http:
        while pending:
            for account_id in sorted(pending):
                health = await http.get(f"/v1/accounts/{account_id}/health")
                if health.status_code == 200 and health.json()["judged_through"] == last_week:
                    pending.discard(account_id)
            if pending:
                await asyncio.sleep(1.0)
    return drained


async def off_track_mismatches(
    correlation: str, secret: dict[str, str], signals: dict[str, list[dict[str, Any]]]
) -> tuple[int, int]:
    """(open activity_off_track signals, of which evidence differs from the stored weeks)."""
    checked = mismatched = 0
    async with httpx.AsyncClient(base_url=correlation, headers=secret, timeout=60) as http:
        for account_id, found in signals.items():
            open_off = [
                s for s in found if s["type"] == "activity_off_track" and s["state"] == "open"
            ]
            if not open_off:
                continue
            view = (await http.get(f"/v1/accounts/{account_id}/ampm")).json()
            for signal in open_off:
                stored = {
                    p["period"]: p["actual"]
                    for a in view["activities"]
                    if a["metric"] == signal["subject"]
                    for p in a["periods"]
                }
                periods = signal["evidence"]["periods"]
                checked += 1
                mismatched += periods != {k: stored.get(k) for k in periods}
    return checked, mismatched


def adoption_mismatches(
    portfolio: list[BenchAccount], signals: dict[str, list[dict[str, Any]]]
) -> tuple[int, int]:
    """(open adoption_drop signals, of which the weeks or the baseline differ from the usage
    events posted): the evidence checked against what was sent, not what was stored."""
    checked = mismatched = 0
    for account in portfolio:
        open_drops = [
            s
            for s in signals[account.account_id]
            if s["type"] == "adoption_drop" and s["state"] == "open"
        ]
        if not open_drops:
            continue
        weekly = Counter(
            period_key(datetime.fromisoformat(event["occurred_at"]))
            for event in account.events
            if event["kind"] == "usage"
        )
        for signal in open_drops:
            evidence = signal["evidence"]
            baseline = [weekly[key] for key in evidence["baseline_periods"]]
            checked += 1
            mismatched += evidence["periods"] != {k: weekly[k] for k in evidence["periods"]} or (
                abs(evidence["baseline_mean"] - sum(baseline) / len(baseline)) > 1e-9
            )
    return checked, mismatched


async def live_departures(
    ingest: str,
    write: dict[str, str],
    accounts: list[BenchAccount],
    signals: Tape,
    events: Tape,
) -> tuple[list[float], list[float]]:
    """Post the departure of each account's only sponsor now, one account at a time; (seconds
    to its ``signal.raised``, seconds to its event on the events topic)."""
    to_signal: list[float] = []
    to_event: list[float] = []
    async with httpx.AsyncClient(timeout=30, headers=write) as http:
        for account in accounts:
            person, marker = account.sponsor_id, uuid.uuid4().hex
            seen_signals, seen_events = len(signals.records), len(events.records)
            departure = {
                "id": marker,
                "kind": "lifecycle",
                "name": "stakeholder.departed",
                "account_id": account.account_id,
                "person_id": person,
                "occurred_at": datetime.now(UTC).isoformat(),
                "properties": {"role": "sponsor"},
            }
            posted = time.perf_counter()
            answer = await http.post(f"{ingest}/v1/events", json={"events": [departure]})
            answer.raise_for_status()
            signal_at = await _first(signals, seen_signals, account.account_id, raised=True)
            event_at = await _first(events, seen_events, marker, raised=False)
            to_signal.append(signal_at - posted)
            to_event.append(event_at - posted)
    return to_signal, to_event


async def _first(tape: Tape, seen: int, needle: str, *, raised: bool) -> float:
    """When the first record after position ``seen`` about ``needle`` was read."""
    async with asyncio.timeout(60):
        while True:
            for at, value in tape.records[seen:]:
                if raised:
                    change = SignalChange.from_value(value)
                    if (
                        change.type is SignalChangeType.RAISED
                        and change.account_id == needle
                        and change.signal_type is not None
                        and change.signal_type.value == "sponsor_departure"
                    ):
                        return at
                elif needle.encode() in value:
                    return at
            tape.arrived.clear()
            await tape.arrived.wait()


def report(
    portfolio: list[BenchAccount],
    changes: list[SignalChange],
    signals: dict[str, list[dict[str, Any]]],
) -> None:
    """Print recall, false alarms and flaps."""
    known = {account.account_id for account in portfolio}
    clean = [a for a in portfolio if a.expected is None]
    published: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for change in changes:
        if change.signal_type is not None and change.account_id in known:
            published[change.account_id][(change.signal_type.value, change.type.value)] += 1
    print("\nrecall (injected risk found at the end; acct-*, sc-*, fw-*, tm-*: the generators)")
    for kind in RISK_KINDS:
        accounts = [a for a in portfolio if a.expected == kind]
        hits = {
            a.account_id: any(
                s["type"] == kind and (s["state"] == "open" or kind == "objective_achieved")
                for s in signals[a.account_id]
            )
            for a in accounts
        }
        found = sum(hits.values())
        by_generator = ", ".join(
            f"{prefix} {sum(hits[a.account_id] for a in accounts if a.account_id.startswith(prefix))}"
            f"/{sum(a.account_id.startswith(prefix) for a in accounts)}"
            for prefix in ("acct", "sc", "fw", "tm")
        )
        print(
            f"  {kind:20s} {found:3d}/{len(accounts):<3d} {found / len(accounts):.2f}"
            f"  ({by_generator})"
        )
    print(f"\nfalse alarms (clean accounts on which a type was ever published, of {len(clean)})")
    types = sorted({t for a in clean for (t, _) in published[a.account_id]})
    for signal_type in types or ["(none)"]:
        hit = [a for a in clean if published[a.account_id][(signal_type, "signal.raised")]]
        by_model = Counter(a.model for a in hit)
        named = ", ".join(f"{k} {n}" for k, n in sorted(by_model.items()))
        print(f"  {signal_type:20s} {len(hit):3d} {len(hit) / len(clean):.3f}  {named}")
    per_model = Counter(a.model for a in clean)
    print("  per noise model: " + ", ".join(f"{k} {n}" for k, n in sorted(per_model.items())))
    clean_flaps = sum(
        min(n, published[a.account_id][(t, "signal.resolved")])
        for a in clean
        for (t, change_type), n in published[a.account_id].items()
        if change_type == "signal.raised"
    )
    risk_flaps = Counter(
        a.expected
        for a in portfolio
        if a.expected is not None
        and a.expected != "sponsor_departure"  # the live phase resolves nothing, but departs more
        for _ in range(published[a.account_id][(a.expected, "signal.resolved")])
    )
    print(f"\nflaps: clean accounts {clean_flaps} raise/resolve pairs; risk accounts resolving")
    print(f"  their own injected type {sum(risk_flaps.values())} {dict(risk_flaps)}")


async def run(args: argparse.Namespace) -> None:
    portfolio = generate(args)
    with tempfile.TemporaryDirectory(prefix="ampm-signals-") as home:
        async with throwaway_infrastructure(Path(home)) as infrastructure:
            bootstrap = infrastructure.bootstrap_servers
            database = await create_database(infrastructure.maintenance_url, prefix="ampm_sig")
            tenant = await create_tenant_keys(database, "signals")
            environment = {
                "AMPM_DATABASE_URL": database,
                "AMPM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "AMPM_LOG_LEVEL": "warning",
                "AMPM_CORRELATION_SWEEP_INTERVAL_SECONDS": str(SWEEP_SECONDS),
                "AMPM_INGEST_RATE_LIMIT_PER_SECOND": "1000000",
                "AMPM_INGEST_RATE_LIMIT_BURST": "1000000",
            }
            services = {name: ServiceProcess(name, environment, Path(home)) for name in SERVICES}
            await asyncio.gather(*(s.start() for s in services.values()))
            topics = Topics()
            signal_tape = Tape(bootstrap, topics.signals)
            event_tape = Tape(bootstrap, topics.events)
            await signal_tape.start()
            await event_tape.start()
            keys = {
                "secret": {"Authorization": f"Bearer {tenant.secret_key.plaintext}"},
                "write": {"Authorization": f"Bearer {tenant.write_key.plaintext}"},
            }
            ingest, correlation = services["ingest"].url, services["correlation"].url
            try:
                clean = sum(a.expected is None for a in portfolio)
                print(
                    f"signals: {len(portfolio)} accounts ({clean} clean, {args.generator}), "
                    f"{args.weeks} weeks of history, seed {args.seed}",
                    flush=True,
                )
                history, weeks = split_live(portfolio, args.live_weeks, datetime.now(UTC))
                history = ordered(history, args.order, args.seed)
                posted, seconds = await backfill(
                    ingest, correlation, keys, portfolio, history, args.batch
                )
                print(
                    f"backfill: {posted} events posted in {seconds:.1f} s ({args.order} order, "
                    f"{args.batch} a request)",
                    flush=True,
                )
                posted = await live_weeks(ingest, keys["write"], bootstrap, weeks)
                print(f"live: {posted} events over {len(weeks)} weeks", flush=True)
                drained = await judged_quiet(bootstrap, correlation, keys["secret"], portfolio)
                print(f"correlation read the backlog {drained:.1f} s after the last POST")
                signals: dict[str, list[dict[str, Any]]] = {}
                async with httpx.AsyncClient(
                    base_url=correlation, headers=keys["secret"], timeout=60
                ) as http:
                    for account in portfolio:
                        listed = await http.get(f"/v1/accounts/{account.account_id}/signals")
                        signals[account.account_id] = listed.json()["signals"]
                changes = [
                    SignalChange.from_value(value)
                    for _, value in signal_tape.records
                    if b'"signal.' in value
                ]
                report(portfolio, changes, signals)
                checked, mismatched = await off_track_mismatches(
                    correlation, keys["secret"], signals
                )
                print(
                    f"\nevidence: {mismatched} of {checked} open activity_off_track signals "
                    "differ from the stored weeks"
                )
                checked, mismatched = adoption_mismatches(portfolio, signals)
                print(
                    f"evidence: {mismatched} of {checked} open adoption_drop signals differ "
                    "from the usage events posted"
                )
                live = [a for a in portfolio if a.expected != "sponsor_departure"][: args.live]
                to_signal, to_event = await live_departures(
                    ingest, keys["write"], live, signal_tape, event_tape
                )
                p50, p99 = percentile(to_signal, 0.5), percentile(to_signal, 0.99)
                b50, b99 = percentile(to_event, 0.5), percentile(to_event, 0.99)
                print(
                    f"\nlive stakeholder.departed -> signal.raised ({len(to_signal)} accounts): "
                    f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (goal p50 < 500 ms)"
                )
                print(
                    f"baseline POST -> events topic: p50 {b50 * 1000:.0f} ms, p99 "
                    f"{b99 * 1000:.0f} ms; ratio p50 {p50 / b50:.1f}x"
                )
            finally:
                await signal_tape.stop()
                await event_tape.stop()
                for service in services.values():
                    service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clean", type=int, default=104)
    parser.add_argument("--per-risk", type=int, default=16)
    parser.add_argument("--weeks", type=int, default=20, help="weeks of history backfilled")
    parser.add_argument("--live-weeks", type=int, default=2, help="weeks posted live after it")
    parser.add_argument("--scale", type=float, default=1.0, help="usage volume factor")
    parser.add_argument("--live", type=int, default=40, help="accounts for live departures")
    parser.add_argument("--generator", choices=(*GENERATORS, "all"), default="all")
    parser.add_argument(
        "--order", choices=("time", "account", "shuffled"), default="time", help="of the backfill"
    )
    parser.add_argument("--batch", type=int, default=BATCH, help="events a backfill request")
    parser.add_argument(
        "--plans",
        choices=("generator", "first", "after"),
        default="generator",
        help="when plans are put: as each generator says, all before the backfill, all after",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
