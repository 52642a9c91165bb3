"""``make bench`` / ``python -m bench``: one run, five measurements, all on a
fresh local Temporal dev server with persistence that the run starts itself.

- idle: one person at a time through ``UnbindingClient`` (``bench.idle``);
- throughput: ``--apps`` mixed applications driven through ``UnbindingClient``,
  against a skeleton of the same shape (``bench.skeleton``) and the fixed
  yardsticks (``bench.frozen``), in the order unbinding, skeleton, yardsticks,
  yardsticks, skeleton, unbinding (half the applications each time) so that
  drift in a shared machine's load cancels out of the ratios
  (``bench.throughput``);
- processes: the same burst with 1, 2 and 4 worker processes (``bench.throughput``);
- memory: ``--waiting`` applications waiting for the customer in one worker
  process, RSS growth per application, and the same for the skeleton and the
  floor (``bench.memory``);
- scale: ``--scale`` applications waiting on one worker, then all confirmed:
  every one must complete and the worker log must stay clean (``scale_ok``);
  the 10,000 target is judged only at 10,000 or more (``bench.scale``,
  ``bench.verdicts``).

A readable table goes to stdout, its status words explained below it; the
results (with every latency sample) go to ``artifacts/bench/<time>.json`` and,
with the ``bench`` extra installed, its figures beside it (``bench.report``);
the last line of stdout is one JSON object.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from activities.sql import SqlPartnerCenter
from bench import report, stack
from bench.context import Bench
from bench.idle import idle
from bench.memory import memory
from bench.output import progress, render
from bench.scale import scale
from bench.settings import BenchSettings, parse
from bench.throughput import processes, throughput
from bench.verdicts import LEGEND, issue_targets, verdicts
from starter.devstack.database import migrated
from starter.devstack.ports import HOST
from starter.devstack.process import StackFailed
from starter.devstack.server import DevServer
from worker import ACTIVITY_THREADS


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(memory_kb / 2**20, 1),
        "python": platform.python_version(),
    }


async def run(settings: BenchSettings) -> dict[str, Any]:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    database_url = settings.database_url or f"sqlite:///{settings.run_dir / 'partner-center.db'}"
    address = f"{HOST}:{settings.temporal_port}"
    results: dict[str, Any] = {}
    table: list[list[str]] = []
    progress(f"starting the dev server on {address}; run directory {settings.run_dir}")
    server = DevServer(
        db_file=settings.run_dir / "temporal.db",
        log_path=settings.run_dir / "temporal-server.log",
        port=settings.temporal_port,
        sqlite_pragmas=settings.server_pragmas,
        dynamic_config=settings.server_dynamic_config,
    )
    client = await server.start_serving(within=stack.SERVER_START_TIMEOUT)
    ledger: SqlPartnerCenter | None = None
    started = time.perf_counter()
    try:
        ledger = SqlPartnerCenter(migrated(database_url), pool_size=ACTIVITY_THREADS)
        bench = Bench(settings, client, ledger, database_url, address, server)
        for phase, measure in (
            ("idle", idle),
            ("throughput", throughput),
            ("processes", processes),
            ("memory", memory),
            ("scale", scale),
        ):
            if phase in settings.phases:
                await measure(bench, results, table)
        other_trouble = [t for t in bench.trouble if "scale" not in t.split(":", 1)[0]]
    finally:
        if ledger is not None:
            ledger.dispose()
        server.stop()
    results.update(
        apps=settings.apps,
        server_sqlite_pragmas=list(settings.server_pragmas),
        server_dynamic_config=list(settings.server_dynamic_config),
        waiting=settings.waiting,
        scale=settings.scale,
        database=ledger.url if ledger is not None else database_url,
        worker_log_trouble=len(other_trouble),
        seconds=round(time.perf_counter() - started, 1),
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=machine(),
    )
    results["targets_met"] = verdicts(results)
    results["targets"] = issue_targets(results)
    results_file = report.write_results(
        settings.results_file or settings.run_dir / "results.json",
        results,
        samples=bench.samples,
        rss=bench.rss,
    )
    results["results_file"] = str(results_file)
    figures = report.figures_or_reason(results_file)
    print()
    print(render(table))
    print(LEGEND)
    for line in other_trouble[:10]:
        print(f"worker log: {line}")
    print(f"run directory: {settings.run_dir}  ({results['seconds']:.0f} s in all)")
    print(f"results: {results_file}")
    print(f"figures: {figures}")
    return results


def main(argv: Sequence[str] | None = None) -> None:
    settings = parse(argv)
    code = 0
    try:
        results = asyncio.run(run(settings))
    except StackFailed as error:
        print(f"bench: {error}", file=sys.stderr, flush=True)
        results = {"error": str(error)}
        code = 3
    # The last line is the machine-readable result, whatever happened.
    print(json.dumps(results, sort_keys=True), flush=True)
    sys.stderr.flush()
    # A client process only, but it shares sdk-python#300's exit-time hazard.
    os._exit(code)
