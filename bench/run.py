"""``make bench`` / ``python -m bench``: one run, five measurements, all on a
fresh local Temporal dev server with persistence that the run starts itself.

- idle: one person at a time through ``UnbindingClient`` (``bench.idle``);
- throughput: ``--apps`` mixed applications driven through ``UnbindingClient``,
  against a skeleton of the same shape (``bench.skeleton``) and the frozen
  reference skeleton-v1 (``bench.frozen``), in the order unbinding, skeleton,
  skeleton-v1, skeleton-v1, skeleton, unbinding (half the applications each
  time) so that drift in a shared machine's load cancels out of the ratios;
- processes: the same burst with 1, 2 and 4 worker processes;
- memory: ``--waiting`` applications waiting for the customer in one worker
  process, RSS growth per application, and the same for the skeleton;
- scale: ``--scale`` applications waiting on one worker, then all confirmed:
  every one must complete and the worker log must stay clean (``scale_ok``);
  the 10,000 target is judged only at 10,000 or more (``bench.verdicts``).

A readable table goes to stdout, its status words explained below it; the
results (with every latency sample) go to ``artifacts/bench/<time>.json`` and,
with the ``bench`` extra installed, its figures beside it (``bench.report``);
the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import platform
import signal
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from activities.sql import SqlPartnerCenter
from bench import report, stack
from bench.frozen import (
    BARE_NAME,
    FLOOR_NAME,
    FROZEN_NAME,
    bare_shapes,
    floor_shapes,
    frozen_shapes,
)
from bench.idle import IDLE_APPS, idle
from bench.markers import local_activity_type
from bench.paths import DIRECT_CARD, PATHS, Driver, Latencies, Partners, Story, Uins, mixed
from bench.skeleton import (
    ACTION_UPDATE,
    LOCAL_STEP,
    SERVER_STEP,
    SKELETON_WORKFLOW,
    SUBMISSION_UPDATE,
    Segment,
)
from bench.stack import WorkerSpec
from bench.verdicts import (
    KB,
    LEGEND,
    errors_status,
    issue_targets,
    judged,
    judged_issue,
    target_status,
    verdicts,
    waiting_10k_ok,
)
from bench.worker import SKELETON, UNBINDING
from starter.client import UnbindingClient
from starter.devstack.database import migrated
from starter.devstack.ports import HOST, free_port
from starter.devstack.process import ROOT, ChildProcess, StackFailed
from starter.devstack.server import (
    DEV_SERVER_DYNAMIC_CONFIG,
    DEV_SERVER_SQLITE_PRAGMAS,
    DevServer,
)
from starter.progress import phase
from worker import ACTIVITY_THREADS
from workflows.model import UnbindStatus

ANSWER_TIMEOUT = timedelta(minutes=10)
"""A burst queues actions behind each other; only a stuck worker takes this long."""
SETTLE_SECONDS = 3.0
"""Pause before reading RSS, so the last workflow tasks and their garbage are done."""
CACHE_HEADROOM = 100
"""Extra cache slots in the memory phase, for the warm-up applications."""
WARM_UP_APPS = 20
"""Applications run before a memory baseline, so imports and pools are loaded."""
PROCESS_COUNTS = (1, 2, 4)
SNAPSHOT_TIMEOUT = 120.0
FILL_CONCURRENCY = 200
"""Applications submitted at once while filling the memory and scale phases."""

SERVER_PRAGMAS = DEV_SERVER_SQLITE_PRAGMAS


@dataclass(frozen=True)
class BenchSettings:
    apps: int
    waiting: int
    scale: int
    process_apps: int
    concurrency: int
    database_url: str | None
    phases: frozenset[str]
    temporal_port: int
    server_pragmas: tuple[str, ...]
    run_dir: Path
    profile_memory: bool = False
    idle: int = IDLE_APPS
    results_file: Path | None = None
    server_dynamic_config: tuple[str, ...] = DEV_SERVER_DYNAMIC_CONFIG


PHASES = ("idle", "throughput", "processes", "memory", "scale")


def parse(argv: Sequence[str] | None) -> BenchSettings:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Throughput, memory and scale of the unbinding worker against a skeleton.",
    )
    parser.add_argument("--apps", type=int, default=200, help="applications per throughput run")
    parser.add_argument(
        "--waiting", type=int, default=2000, help="waiting applications for the memory phase"
    )
    parser.add_argument(
        "--scale", type=int, default=10_000, help="waiting-then-confirmed applications"
    )
    parser.add_argument(
        "--idle", type=int, default=IDLE_APPS, help="applications per step of the idle phase"
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="the results file (default: artifacts/bench/<time>.json)",
    )
    parser.add_argument(
        "--process-apps",
        type=int,
        default=None,
        help="applications per run of the processes phase (default: --apps)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="applications in flight at once (default: all of a throughput run; "
        "200 when filling the memory and scale phases)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("UNBIND_DATABASE_URL") or None,
        help="the partner center (default: UNBIND_DATABASE_URL, else a fresh SQLite file "
        "in the run directory)",
    )
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"comma-separated subset of {','.join(PHASES)}",
    )
    parser.add_argument(
        "--temporal-port", type=int, default=0, help="dev server port (default: a free one)"
    )
    parser.add_argument(
        "--server-sqlite-pragma",
        action="append",
        default=None,
        metavar="PRAGMA=VALUE",
        help="passed to `temporal server start-dev --sqlite-pragma` (repeatable; replaces "
        f"the default {' '.join(SERVER_PRAGMAS)}; `none` for the server's own defaults)",
    )
    parser.add_argument(
        "--server-dynamic-config",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="passed to `temporal server start-dev --dynamic-config-value` (repeatable; "
        f"replaces the default {' '.join(DEV_SERVER_DYNAMIC_CONFIG)}; `none` for the "
        "server's own defaults)",
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="where the server file, ledger and logs go (default: var/bench/<time>)",
    )
    parser.add_argument(
        "--profile-memory",
        action="store_true",
        help="trace the memory phase's workers with tracemalloc (slow) and print "
        "where the Python heap grew per waiting workflow",
    )
    args = parser.parse_args(argv)
    phases = frozenset(p.strip() for p in args.phases.split(",") if p.strip())
    if unknown := phases - set(PHASES):
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    for name in ("apps", "waiting", "scale", "idle"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return BenchSettings(
        apps=args.apps,
        waiting=args.waiting,
        scale=args.scale,
        process_apps=args.process_apps or args.apps,
        concurrency=args.concurrency or 0,
        database_url=args.database_url,
        phases=phases,
        temporal_port=args.temporal_port or free_port(),
        server_pragmas=tuple(
            p for p in (args.server_sqlite_pragma or SERVER_PRAGMAS) if p.lower() != "none"
        ),
        profile_memory=args.profile_memory,
        run_dir=(args.run_dir or ROOT / "var" / "bench" / stamp).resolve(),
        idle=args.idle,
        server_dynamic_config=tuple(
            value
            for value in (args.server_dynamic_config or DEV_SERVER_DYNAMIC_CONFIG)
            if value.lower() != "none"
        ),
        results_file=(args.results or ROOT / "artifacts" / "bench" / f"{stamp}.json").resolve(),
    )


# ---- a run's moving parts ------------------------------------------------------


@dataclass
class Bench:
    settings: BenchSettings
    client: Client
    ledger: SqlPartnerCenter
    database_url: str
    address: str
    server: ChildProcess
    uins: Uins = field(default_factory=Uins)
    shapes: dict[str, list[Segment]] = field(default_factory=dict)
    """Activities per segment of each path, counted in a real history."""
    workers: list[ChildProcess] = field(default_factory=list)
    trouble: list[str] = field(default_factory=list)
    _queues: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[float]] = field(default_factory=dict)
    """Latency samples (seconds) by name, for the results file's figures."""
    rss: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    """(waiting applications, worker RSS bytes) points by worker kind."""

    def queue(self, name: str) -> str:
        self._queues[name] += 1
        return f"bench-{name}-{self._queues[name]}"

    @contextlib.asynccontextmanager
    async def workers_on(
        self,
        kind: str,
        task_queue: str,
        *,
        count: int = 1,
        cache: int | None = None,
        trace_dir: Path | None = None,
        activity_timing: Path | None = None,
    ) -> AsyncIterator[list[ChildProcess]]:
        spec = WorkerSpec(
            kind, self.address, task_queue, self.database_url, cache, trace_dir, activity_timing
        )
        started: list[ChildProcess] = []
        try:
            for _ in range(count):
                name = f"{task_queue}-{kind}-{len(started) + 1}"
                started.append(
                    await stack.start_worker(
                        spec, self.client, name=name, run_dir=self.settings.run_dir
                    )
                )
            self.workers += started
            yield started
        finally:
            for child in started:
                code = child.stop()
                self.trouble += [f"{child.name}: {line}" for line in stack.trouble(child)]
                if code not in (0, None):
                    self.trouble.append(f"{child.name}: exit code {code}")

    def driver(self, task_queue: str, latencies: Latencies, partners: Partners) -> Driver:
        client = UnbindingClient(self.client, task_queue=task_queue, answer_timeout=ANSWER_TIMEOUT)
        return Driver(client, self.ledger, partners, latencies)

    async def customers(self, driver: Driver, stories: Sequence[Story]) -> list[str]:
        """Create one customer per story in the ledger (not timed)."""

        def create() -> list[str]:
            uins = [self.uins() for _ in stories]
            for story, uin in zip(stories, uins, strict=True):
                driver.customer_for(story, uin)
            return uins

        return await asyncio.to_thread(create)


async def _all(
    jobs: Iterable[Awaitable[Any]], *, concurrency: int, label: str
) -> list[BaseException]:
    """Await every job, at most ``concurrency`` at once (0: all); the failures.
    A coroutine does nothing until awaited, so the gate holds the rest back.
    Shows the count done and the time left as ``label`` (stderr)."""
    gate = asyncio.Semaphore(concurrency) if concurrency > 0 else None
    pending = list(jobs)

    with phase(label, total=len(pending)) as done:

        async def one(job: Awaitable[Any]) -> None:
            try:
                if gate is None:
                    await job
                    return
                async with gate:
                    await job
            finally:
                done()

        results = await asyncio.gather(*(one(job) for job in pending), return_exceptions=True)
    return [r for r in results if isinstance(r, BaseException)]


def _errors(failures: list[BaseException]) -> list[str]:
    return [f"{type(f).__name__}: {f}" for f in failures]


# ---- throughput -------------------------------------------------------------------


@dataclass
class Burst:
    apps: int = 0
    seconds: float = 0.0
    latencies: Latencies = field(default_factory=Latencies)
    errors: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds spent by each process during the burst."""

    @property
    def per_second(self) -> float:
        return self.apps / self.seconds if self.seconds else 0.0

    def ratio_to(self, other: Burst) -> float | None:
        """Applications per second, as a multiple of ``other``'s (None if it ran none)."""
        return self.per_second / other.per_second if other.per_second else None

    def percentile_ms(self, fraction: float) -> float | None:
        samples = sorted(self.latencies.samples)
        if not samples:
            return None
        return 1000 * samples[min(len(samples) - 1, int(fraction * len(samples)))]


async def unbinding_burst(
    bench: Bench, task_queue: str, partners: Partners, count: int, into: Burst
) -> None:
    driver = bench.driver(task_queue, into.latencies, partners)
    stories = mixed(count)
    customers = await bench.customers(driver, stories)
    started = time.perf_counter()
    failures = await _all(
        (driver.play(s, c) for s, c in zip(stories, customers, strict=True)),
        concurrency=bench.settings.concurrency,
        label=f"{count} unbinding applications",
    )
    into.seconds += time.perf_counter() - started
    into.apps += count
    into.errors += _errors(failures)


async def submit_skeleton(
    client: Client, task_queue: str, shape: list[Segment], workflow_id: str
) -> int:
    """Start a skeleton and wait for its submission answer, as the real
    client's update-with-start does."""
    start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
        SKELETON_WORKFLOW,
        shape,
        id=workflow_id,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        task_queue=task_queue,
    )
    return await client.execute_update_with_start_workflow(
        SUBMISSION_UPDATE, start_workflow_operation=start, result_type=int
    )


async def skeleton_app(
    client: Client, task_queue: str, shape: list[Segment], workflow_id: str, latencies: Latencies
) -> None:
    await latencies.timed(submit_skeleton(client, task_queue, shape, workflow_id))
    handle = client.get_workflow_handle(workflow_id)
    for _ in shape[1:]:
        await latencies.timed(handle.execute_update(ACTION_UPDATE, result_type=int))
    await handle.result()


async def skeleton_burst(
    bench: Bench,
    task_queue: str,
    count: int,
    into: Burst,
    shaped_as: dict[str, list[Segment]] | None = None,
) -> None:
    """``count`` skeletons of the mixed paths, shaped as learned (or as ``shaped_as``)."""
    shapes = [(shaped_as or bench.shapes)[story.name] for story in mixed(count)]
    ids = [f"skeleton-{bench.uins()}" for _ in shapes]
    started = time.perf_counter()
    failures = await _all(
        (
            skeleton_app(bench.client, task_queue, shape, wid, into.latencies)
            for shape, wid in zip(shapes, ids, strict=True)
        ),
        concurrency=bench.settings.concurrency,
        label=f"{count} skeleton workflows",
    )
    into.seconds += time.perf_counter() - started
    into.apps += count
    into.errors += _errors(failures)


async def metered(burst: Burst, processes: dict[str, int], work: Awaitable[None]) -> None:
    """Run ``work``, adding each process's CPU time to ``burst.cpu``."""
    before = {role: stack.cpu_seconds(pid) for role, pid in processes.items()}
    await work
    for role, pid in processes.items():
        spent = stack.cpu_seconds(pid) - before[role]
        burst.cpu[role] = burst.cpu.get(role, 0.0) + spent


def cpu_note(burst: Burst) -> str:
    per_app = {role: 1000 * seconds / burst.apps for role, seconds in burst.cpu.items()}
    return "CPU per app: " + ", ".join(f"{role} {ms:.0f} ms" for role, ms in per_app.items())


async def learn_shapes(bench: Bench, task_queue: str, partners: Partners) -> None:
    """One application per path; the activities between accepted actions, by kind."""
    driver = bench.driver(task_queue, Latencies(), partners)
    customers = await bench.customers(driver, PATHS)
    for story, customer in zip(PATHS, customers, strict=True):
        await driver.play(story, customer)
        history = await bench.client.get_workflow_handle(f"unbind-{customer}").fetch_history()
        segments: list[Segment] = [""]
        accepted = 0
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                accepted += 1
                if accepted > 1:
                    segments.append("")
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                segments[-1] = f"{segments[-1]}{SERVER_STEP}"
            elif local_activity_type(event) is not None:
                segments[-1] = f"{segments[-1]}{LOCAL_STEP}"
        bench.shapes[story.name] = segments


async def throughput(bench: Bench, results: dict[str, Any], table: list[list[str]]) -> None:
    half = max(1, bench.settings.apps // 2)
    rest = bench.settings.apps - half
    partners = Partners.create(bench.ledger, bench.uins)
    unbinding, skeleton, frozen, floor, bare = Burst(), Burst(), Burst(), Burst(), Burst()
    frozen_shaped = frozen_shapes()
    # Fixed yardsticks, each run by the skeleton's worker with the shapes beside it.
    yardsticks = (
        (frozen, frozen_shaped),
        (floor, floor_shapes(frozen_shaped)),
        (bare, bare_shapes(frozen_shaped)),
    )
    unbinding_queue, skeleton_queue = bench.queue("throughput"), bench.queue("skeleton")
    async with (
        bench.workers_on(UNBINDING, unbinding_queue) as (unbinding_worker,),
        bench.workers_on(SKELETON, skeleton_queue) as (skeleton_worker,),
    ):
        _progress("throughput: one application per path, to learn the skeleton's shape")
        await learn_shapes(bench, unbinding_queue, partners)
        await skeleton_burst(bench, skeleton_queue, len(PATHS), Burst())
        _progress(f"throughput: {bench.settings.apps} unbinding and as many skeleton (ABBA)")
        server, driver = bench.server.pid, os.getpid()
        on_unbinding = {"server": server, "worker": unbinding_worker.pid, "bench": driver}
        on_skeleton = {"server": server, "worker": skeleton_worker.pid, "bench": driver}

        async def yardstick_halves(count: int, order: int) -> None:
            for burst, shapes in yardsticks[::order]:
                work = skeleton_burst(bench, skeleton_queue, count, burst, shapes)
                await metered(burst, on_skeleton, work)

        def unbinding_half(count: int) -> Awaitable[None]:
            work = unbinding_burst(bench, unbinding_queue, partners, count, unbinding)
            return metered(unbinding, on_unbinding, work)

        def skeleton_half(count: int) -> Awaitable[None]:
            work = skeleton_burst(bench, skeleton_queue, count, skeleton)
            return metered(skeleton, on_skeleton, work)

        await unbinding_half(half)
        await skeleton_half(half)
        await yardstick_halves(half, 1)
        if rest:
            await yardstick_halves(rest, -1)
            await skeleton_half(rest)
            await unbinding_half(rest)
    ratio = unbinding.ratio_to(skeleton)
    frozen_ratio, floor_ratio, bare_ratio = (b.ratio_to(frozen) for b in (unbinding, floor, bare))
    bench.samples.update(
        {
            "unbinding actions": unbinding.latencies.samples,
            "skeleton actions": skeleton.latencies.samples,
            f"{FROZEN_NAME} actions": frozen.latencies.samples,
            f"{FLOOR_NAME} actions": floor.latencies.samples,
            f"{BARE_NAME} actions": bare.latencies.samples,
        }
    )
    results.update(
        frozen_skeleton_per_s=round(frozen.per_second, 2),
        ratio_vs_frozen_skeleton=_round(frozen_ratio, 3),
        floor_per_s=round(floor.per_second, 2),
        floor_ratio_vs_frozen_skeleton=_round(floor_ratio, 3),
        floor_latency_p50_ms=_round(floor.percentile_ms(0.50), 1),
        floor_latency_p95_ms=_round(floor.percentile_ms(0.95), 1),
        bare_per_s=round(bare.per_second, 2),
        bare_ratio_vs_frozen_skeleton=_round(bare_ratio, 3),
        bare_latency_p95_ms=_round(bare.percentile_ms(0.95), 1),
        frozen_skeleton_shapes=frozen_shaped,
        unbind_per_s=round(unbinding.per_second, 2),
        skeleton_per_s=round(skeleton.per_second, 2),
        ratio_vs_skeleton=_round(ratio, 3),
        action_latency_p50_ms=_round(unbinding.percentile_ms(0.50), 1),
        action_latency_p95_ms=_round(unbinding.percentile_ms(0.95), 1),
        skeleton_latency_p50_ms=_round(skeleton.percentile_ms(0.50), 1),
        skeleton_latency_p95_ms=_round(skeleton.percentile_ms(0.95), 1),
        throughput_errors=sum(len(b.errors) for b in (unbinding, skeleton, frozen, floor, bare)),
        skeleton_shapes=bench.shapes,
    )
    bursts = (
        (unbinding, "unbinding"),
        (skeleton, "skeleton"),
        (frozen, FROZEN_NAME),
        (floor, FLOOR_NAME),
        (bare, BARE_NAME),
    )
    for burst, name in bursts:
        table.append(
            [
                f"throughput: {name}",
                f"{burst.apps} apps in {burst.seconds:.1f} s",
                f"{burst.per_second:.2f} apps/s",
                f"p50 {_ms(burst.percentile_ms(0.5))}, p95 {_ms(burst.percentile_ms(0.95))}"
                f" ({len(burst.latencies.samples)} actions)",
                errors_status(len(burst.errors)),
            ]
        )
    ratio_met = judged("ratio_vs_skeleton", _round(ratio, 3), size=bench.settings.apps)
    table.append(
        [
            "ratio vs skeleton",
            "",
            f"{_fmt(ratio, '.3f')}",
            "target ≥ 0.90",
            target_status(ratio_met, errors=len(unbinding.errors) + len(skeleton.errors)),
        ]
    )
    frozen_met = judged_issue("ratio_vs_frozen_skeleton", results, size=bench.settings.apps)
    table.append(
        [
            f"ratio vs {FROZEN_NAME}",
            "",
            f"{_fmt(frozen_ratio, '.3f')}",
            f"target ≥ 1.3 (issue 12); {FLOOR_NAME} {_fmt(floor_ratio, '.3f')},"
            f" {BARE_NAME} {_fmt(bare_ratio, '.3f')}",
            target_status(frozen_met, errors=len(unbinding.errors) + len(frozen.errors)),
        ]
    )
    p95_met = judged_issue("action_latency_p95_ms", results, size=bench.settings.apps)
    table.append(
        [
            "action p95, all at once",
            "",
            _ms(results["action_latency_p95_ms"]),
            f"target ≤ 1500 ms (issue 12); {FLOOR_NAME} {_ms(results['floor_latency_p95_ms'])},"
            f" {BARE_NAME} {_ms(results['bare_latency_p95_ms'])}",
            target_status(p95_met, errors=len(unbinding.errors) + len(floor.errors)),
        ]
    )
    for burst, name in bursts:
        table.append([f"  where the CPU went: {name}", "", "", cpu_note(burst), ""])
    unbinding_cpu, skeleton_cpu = sum(unbinding.cpu.values()), sum(skeleton.cpu.values())
    cpu_ratio = (
        (skeleton_cpu / skeleton.apps) / (unbinding_cpu / unbinding.apps)
        if unbinding_cpu and skeleton_cpu
        else None
    )
    results["cpu_ratio_vs_skeleton"] = _round(cpu_ratio, 3)
    table.append(
        ["ratio by CPU per app", "", f"{_fmt(cpu_ratio, '.3f')}", "robust to a shared machine", ""]
    )
    results["cpu_ms_per_app"] = {
        name: {role: round(1000 * sec / burst.apps, 1) for role, sec in burst.cpu.items()}
        for burst, name in bursts
    }
    for name, key in (
        ("unbinding", "cpu_ms_per_app_total"),
        (FLOOR_NAME, "floor_cpu_ms_per_app_total"),
        (BARE_NAME, "bare_cpu_ms_per_app_total"),
    ):
        per_app = results["cpu_ms_per_app"][name]
        results[key] = round(per_app["server"] + per_app["worker"], 1)
    for burst, _ in bursts:
        for error in burst.errors[:5]:
            _progress(f"  error: {error}")


# ---- worker processes -----------------------------------------------------------


async def processes(bench: Bench, results: dict[str, Any], table: list[list[str]]) -> None:
    partners = Partners.create(bench.ledger, bench.uins)
    rates: dict[int, float] = {}
    for count in PROCESS_COUNTS:
        queue = bench.queue(f"processes-{count}")
        burst = Burst()
        async with bench.workers_on(UNBINDING, queue, count=count):
            _progress(f"processes: {bench.settings.process_apps} applications, {count} worker(s)")
            await unbinding_burst(bench, queue, partners, bench.settings.process_apps, burst)
        rates[count] = burst.per_second
        table.append(
            [
                f"processes: {count} worker(s)",
                f"{burst.apps} apps in {burst.seconds:.1f} s",
                f"{burst.per_second:.2f} apps/s",
                f"speedup {_fmt(burst.per_second / rates[1] if rates[1] else None, '.2f')}",
                errors_status(len(burst.errors)),
            ]
        )
    results.update(
        speedup_2_workers=_round(rates[2] / rates[1] if rates[1] else None, 2),
        speedup_4_workers=_round(rates[4] / rates[1] if rates[1] else None, 2),
        workers_per_s={str(k): round(v, 2) for k, v in rates.items()},
    )


# ---- memory --------------------------------------------------------------------


async def _rss_growth(
    worker: ChildProcess, fill: Callable[[], Awaitable[list[BaseException]]], trace_dir: Path | None
) -> tuple[int, int, list[BaseException]]:
    """RSS of the worker before and after ``fill``, each read once it settled;
    with ``trace_dir``, a tracemalloc snapshot at both points."""
    await asyncio.sleep(SETTLE_SECONDS)
    before = stack.rss_bytes(worker.pid)
    if trace_dir is not None:
        await _snapshot(worker, trace_dir / "snapshot-1.trace")
    failures = await fill()
    await asyncio.sleep(SETTLE_SECONDS)
    after = stack.rss_bytes(worker.pid)
    if trace_dir is not None:
        await _snapshot(worker, trace_dir / "snapshot-2.trace")
    return before, after, failures


async def _snapshot(worker: ChildProcess, path: Path) -> None:
    os.kill(worker.pid, signal.SIGUSR1)
    give_up = time.monotonic() + SNAPSHOT_TIMEOUT
    while time.monotonic() < give_up:
        if path.exists() and path.stat().st_size > 0:
            await asyncio.sleep(SETTLE_SECONDS)  # the dump may still be writing
            return
        await asyncio.sleep(0.5)
    raise StackFailed(f"no tracemalloc snapshot at {path}")


def allocation_profile(trace_dir: Path, count: int, *, top: int = 12) -> list[str]:
    """Where the Python heap grew while ``count`` workflows came to wait:
    bytes per workflow by source line, largest first."""
    before = tracemalloc.Snapshot.load(str(trace_dir / "snapshot-1.trace"))
    after = tracemalloc.Snapshot.load(str(trace_dir / "snapshot-2.trace"))
    stats = after.compare_to(before, "lineno")
    total = sum(stat.size_diff for stat in stats)
    lines = [f"python heap growth {total / count / KB:.1f} KB per workflow, by line:"]
    for stat in stats[:top]:
        frame = stat.traceback[0]
        where = frame.filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
        where = f"{where}:{frame.lineno}"
        lines.append(f"  {stat.size_diff / count / KB:8.1f} KB  {where}")
    return lines


async def waiting_applications(
    bench: Bench, queue: str, partners: Partners, count: int
) -> tuple[list[str], list[BaseException]]:
    """``count`` direct customers' applications, each left waiting for the
    customer's decision; their UINs and the failures."""
    driver = bench.driver(queue, Latencies(), partners)
    customers = await bench.customers(driver, [DIRECT_CARD] * count)
    failures = await _all(
        (
            driver.apply(
                c, initiator=partners.reseller, expect=UnbindStatus.PENDING_CUSTOMER_CONFIRMATION
            )
            for c in customers
        ),
        concurrency=bench.settings.concurrency or FILL_CONCURRENCY,
        label=f"{count} applications left waiting",
    )
    return customers, failures


async def _failures_of_waiting(
    bench: Bench, queue: str, partners: Partners, count: int
) -> list[BaseException]:
    return (await waiting_applications(bench, queue, partners, count))[1]


async def waiting_skeletons(
    bench: Bench, queue: str, count: int, shapes: dict[str, list[Segment]]
) -> list[BaseException]:
    """``count`` skeletons of the direct path as ``shapes`` has it, each at its first wait."""
    shape = shapes[DIRECT_CARD.name]
    ids = [f"skeleton-{bench.uins()}" for _ in range(count)]
    return await _all(
        (submit_skeleton(bench.client, queue, shape, wid) for wid in ids),
        concurrency=bench.settings.concurrency or FILL_CONCURRENCY,
        label=f"{count} skeletons left waiting",
    )


async def memory(bench: Bench, results: dict[str, Any], table: list[list[str]]) -> None:
    count = bench.settings.waiting
    cache = count + CACHE_HEADROOM + WARM_UP_APPS
    partners = Partners.create(bench.ledger, bench.uins)
    if not bench.shapes:
        queue = bench.queue("shapes")
        async with bench.workers_on(UNBINDING, queue):
            await learn_shapes(bench, queue, partners)
    growth: dict[str, float] = {}
    # The floor runs on the skeleton's worker: the same workflow with no activity.
    for name, kind in ((UNBINDING, UNBINDING), (SKELETON, SKELETON), (FLOOR_NAME, SKELETON)):
        queue = bench.queue(f"memory-{name}")
        trace_dir = (
            bench.settings.run_dir / f"tracemalloc-{name}"
            if bench.settings.profile_memory
            else None
        )
        async with bench.workers_on(kind, queue, cache=cache, trace_dir=trace_dir) as (worker,):
            _progress(f"memory: warm-up, then {count} {name} workflows waiting (cache {cache})")
            fill: Callable[[], Awaitable[list[BaseException]]]
            if kind == UNBINDING:
                await unbinding_burst(bench, queue, partners, WARM_UP_APPS, Burst())
                fill = functools.partial(_failures_of_waiting, bench, queue, partners, count)
            else:
                shapes = bench.shapes if name == SKELETON else floor_shapes(bench.shapes)
                await skeleton_burst(bench, queue, WARM_UP_APPS, Burst(), shapes)
                fill = functools.partial(waiting_skeletons, bench, queue, count, shapes)
            before, after, failures = await _rss_growth(worker, fill, trace_dir)
        growth[name] = (after - before) / count
        bench.rss[name] = [(0, before), (count, after)]
        errors = _errors(failures)
        for error in errors[:5]:
            _progress(f"  memory {name}: {error}")
        status = (
            target_status(
                judged("bytes_per_waiting_application", growth[name], size=count),
                errors=len(errors),
            )
            if name == UNBINDING
            else errors_status(len(errors))
        )
        table.append(
            [
                f"memory: {name}",
                f"{count} waiting",
                f"{growth[name] / KB:.1f} KB each",
                f"RSS {before / 2**20:.0f} → {after / 2**20:.0f} MB",
                status,
            ]
        )
        if trace_dir is not None:
            profile = allocation_profile(trace_dir, count)
            (bench.settings.run_dir / f"memory-profile-{name}.txt").write_text("\n".join(profile))
            for line in profile:
                _progress(f"  {name}: {line}")
    results.update(
        bytes_per_waiting_application=round(growth[UNBINDING]),
        bytes_per_waiting_skeleton=round(growth[SKELETON]),
        bytes_per_waiting_floor=round(growth[FLOOR_NAME]),
        memory_cache_size=cache,
    )


# ---- scale ----------------------------------------------------------------------


async def scale(bench: Bench, results: dict[str, Any], table: list[list[str]]) -> None:
    """The worker as shipped (its own cache size), ``--scale`` applications
    waiting at once, then every one confirmed and completed."""
    count = bench.settings.scale
    partners = Partners.create(bench.ledger, bench.uins)
    queue = bench.queue("scale")
    trouble_before = len(bench.trouble)
    started = time.perf_counter()
    async with bench.workers_on(UNBINDING, queue) as (worker,):
        _progress(f"scale: {count} applications waiting on one worker")
        empty = stack.rss_bytes(worker.pid)
        customers, failures = await waiting_applications(bench, queue, partners, count)
        filled = time.perf_counter()
        peak = stack.rss_bytes(worker.pid)
        _progress(f"scale: all {count} waiting after {filled - started:.0f} s; confirming")
        driver = bench.driver(queue, Latencies(), partners)

        async def confirm(customer: str) -> None:
            await driver.act(
                customer,
                driver.client.confirm(customer, actor=customer),
                "confirm",
                UnbindStatus.COMPLETED,
            )
            await bench.client.get_workflow_handle(f"unbind-{customer}").result()

        failures += await _all(
            (confirm(c) for c in customers),
            concurrency=bench.settings.concurrency or FILL_CONCURRENCY,
            label=f"{len(customers)} applications confirmed and completed",
        )
        peak = max(peak, stack.rss_bytes(worker.pid))
        bench.rss["unbinding, scale phase (peak)"] = [(0, empty), (count, peak)]
    seconds = time.perf_counter() - started
    trouble = bench.trouble[trouble_before:]
    clean = not failures and not trouble
    at_size = waiting_10k_ok(scale_apps=count, scale_ok=clean)
    results.update(
        scale_ok=clean,
        waiting_10k_ok=at_size,
        scale_apps=count,
        scale_seconds=round(seconds, 1),
        scale_errors=len(failures),
        scale_log_trouble=len(trouble),
    )
    table.append(
        [
            f"scale: {count} waiting, then confirmed",
            f"{seconds:.0f} s ({filled - started:.0f} s to fill)",
            f"worker RSS peak {peak / 2**20:.0f} MB",
            f"{len(failures)} errors, {len(trouble)} log warnings",
            target_status(at_size, errors=len(failures) + len(trouble)),
        ]
    )
    for line in [*_errors(failures)[:5], *trouble[:5]]:
        _progress(f"  scale: {line}")


# ---- the run --------------------------------------------------------------------


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


def render(table: list[list[str]]) -> str:
    header = ["measurement", "work", "result", "detail", "status"]
    rows = [header, *table]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


async def run(settings: BenchSettings) -> dict[str, Any]:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    database_url = settings.database_url or f"sqlite:///{settings.run_dir / 'partner-center.db'}"
    address = f"{HOST}:{settings.temporal_port}"
    results: dict[str, Any] = {}
    table: list[list[str]] = []
    _progress(f"starting the dev server on {address}; run directory {settings.run_dir}")
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


def _progress(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"
