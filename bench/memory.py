"""The memory phase: ``--waiting`` applications waiting for the customer in one
worker process, RSS growth per application, beside the skeleton and the floor;
with ``--profile-memory``, where the Python heap grew."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import stack
from bench.bursts import (
    Burst,
    learn_shapes,
    skeleton_burst,
    unbinding_burst,
    waiting_applications,
    waiting_skeletons,
)
from bench.context import Bench, error_texts
from bench.frozen import FLOOR_NAME, floor_shapes
from bench.output import progress
from bench.paths import Partners
from bench.verdicts import KB, errors_status, judged, target_status
from bench.worker import SKELETON, UNBINDING
from starter.devstack.process import ROOT, ChildProcess, StackFailed

SETTLE_SECONDS = 3.0
"""Pause before reading RSS, so the last workflow tasks and their garbage are done."""
CACHE_HEADROOM = 100
"""Extra cache slots in the memory phase, for the warm-up applications."""
WARM_UP_APPS = 20
"""Applications run before a memory baseline, so imports and pools are loaded."""
SNAPSHOT_TIMEOUT = 120.0


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


async def _failures_of_waiting(
    bench: Bench, queue: str, partners: Partners, count: int
) -> list[BaseException]:
    return (await waiting_applications(bench, queue, partners, count))[1]


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
            progress(f"memory: warm-up, then {count} {name} workflows waiting (cache {cache})")
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
        errors = error_texts(failures)
        for error in errors[:5]:
            progress(f"  memory {name}: {error}")
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
                progress(f"  {name}: {line}")
    results.update(
        bytes_per_waiting_application=round(growth[UNBINDING]),
        bytes_per_waiting_skeleton=round(growth[SKELETON]),
        bytes_per_waiting_floor=round(growth[FLOOR_NAME]),
        memory_cache_size=cache,
    )
