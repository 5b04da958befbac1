"""Run every benchmark in one go, for before/after comparisons (about 6 minutes here).

    .venv/bin/python bench/all.py                      # prints each benchmark's figures
    .venv/bin/python bench/all.py --output run.txt     # and keeps them in a file
    .venv/bin/python bench/all.py --only notifier soak

Each benchmark runs as its own process with its own broker and PostgreSQL, one after the
other (they would otherwise share the cores they measure), and prints its figures, its
baseline and the ratio. The run starts with the machine's description and ends with each
benchmark's wall time; ``bench/README.md`` keeps the last figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ampm.local.kafka import KAFKA_VERSION  # noqa: E402
from ampm.local.postgres import server_bin_dir  # noqa: E402

BENCHMARKS: dict[str, list[str]] = {
    "ingest": ["bench/ingest.py"],
    "correlation": ["bench/correlation.py"],
    "ampm": ["bench/ampm_view.py"],
    "equivalents": ["bench/equivalents.py"],
    "notifier": ["bench/notifier.py"],
    "soak": ["bench/soak.py", "--minutes", "1", "--rate", "200"],
    "power": ["bench/power.py"],
    "limits": ["bench/limits.py"],
    "judgement": ["bench/judgement.py", "--accounts", "400"],
    "signals": ["bench/signals.py"],
}


def machine() -> str:
    """CPU, cores, memory, kernel and the versions of what the benchmarks run on."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        platform.processor() or "unknown CPU",
    )
    memory = "unknown"
    if Path("/proc/meminfo").exists():
        total_kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{total_kib / 1024 / 1024:.1f} GiB"
    postgres = "not found"
    bin_dir = server_bin_dir()
    if bin_dir is not None:
        postgres = subprocess.run(
            [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    return (
        f"{model}, {os.cpu_count()} cores, {memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {postgres}; Kafka {KAFKA_VERSION} (KRaft, 1 node)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="a subset")
    parser.add_argument("--output", type=Path, help="also write the run to this file")
    args = parser.parse_args()
    chosen = args.only or list(BENCHMARKS)
    lines = [f"machine: {machine()}", f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}", ""]
    print("\n".join(lines), flush=True)
    timings: list[tuple[str, float, int]] = []
    for name in chosen:
        command = [sys.executable, *BENCHMARKS[name]]
        header = f"== {name}: {' '.join(BENCHMARKS[name])}"
        print(header, flush=True)
        started = time.perf_counter()
        finished = subprocess.run(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        elapsed = time.perf_counter() - started
        # Figures only: the brokers' start-up chatter (refused connections while they start,
        # leader elections on fresh topics) and the services' JSON log lines are not results.
        output = [
            line
            for line in finished.stdout.splitlines()
            if not line.startswith(("Unable connect", "Got error produce response", '{"'))
        ]
        print("\n".join(output), flush=True)
        lines += [header, *output, ""]
        timings.append((name, elapsed, finished.returncode))
    summary = ["== wall time"] + [
        f"  {name:<12} {elapsed:6.0f} s{'' if code == 0 else f'  (exit {code})'}"
        for name, elapsed, code in timings
    ]
    summary.append(f"  {'total':<12} {sum(t for _, t, _ in timings):6.0f} s")
    print("\n".join(summary))
    if args.output is not None:
        args.output.write_text("\n".join([*lines, *summary]) + "\n")
    if any(code != 0 for *_, code in timings):
        sys.exit(1)


if __name__ == "__main__":
    main()
