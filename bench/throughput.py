"""The throughput phase: ``--apps`` mixed applications against a skeleton of
the same shape and the fixed yardsticks (skeleton-v1, the floor, bare), in ABBA
order; and the processes phase: the same burst on 1, 2 and 4 workers."""

from __future__ import annotations

import os
from collections.abc import Awaitable
from typing import Any

from bench.bursts import Burst, cpu_note, learn_shapes, metered, skeleton_burst, unbinding_burst
from bench.context import Bench
from bench.frozen import (
    BARE_NAME,
    FLOOR_NAME,
    FROZEN_NAME,
    bare_shapes,
    floor_shapes,
    frozen_shapes,
)
from bench.output import fmt, fmt_ms, progress, rounded
from bench.paths import PATHS, Partners
from bench.verdicts import errors_status, judged, judged_issue, target_status
from bench.worker import SKELETON, UNBINDING

PROCESS_COUNTS = (1, 2, 4)


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
        progress("throughput: one application per path, to learn the skeleton's shape")
        await learn_shapes(bench, unbinding_queue, partners)
        await skeleton_burst(bench, skeleton_queue, len(PATHS), Burst())
        progress(f"throughput: {bench.settings.apps} unbinding and as many skeleton (ABBA)")
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
        ratio_vs_frozen_skeleton=rounded(frozen_ratio, 3),
        floor_per_s=round(floor.per_second, 2),
        floor_ratio_vs_frozen_skeleton=rounded(floor_ratio, 3),
        floor_latency_p50_ms=rounded(floor.percentile_ms(0.50), 1),
        floor_latency_p95_ms=rounded(floor.percentile_ms(0.95), 1),
        bare_per_s=round(bare.per_second, 2),
        bare_ratio_vs_frozen_skeleton=rounded(bare_ratio, 3),
        bare_latency_p95_ms=rounded(bare.percentile_ms(0.95), 1),
        frozen_skeleton_shapes=frozen_shaped,
        unbind_per_s=round(unbinding.per_second, 2),
        skeleton_per_s=round(skeleton.per_second, 2),
        ratio_vs_skeleton=rounded(ratio, 3),
        action_latency_p50_ms=rounded(unbinding.percentile_ms(0.50), 1),
        action_latency_p95_ms=rounded(unbinding.percentile_ms(0.95), 1),
        skeleton_latency_p50_ms=rounded(skeleton.percentile_ms(0.50), 1),
        skeleton_latency_p95_ms=rounded(skeleton.percentile_ms(0.95), 1),
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
                f"p50 {fmt_ms(burst.percentile_ms(0.5))}, p95 {fmt_ms(burst.percentile_ms(0.95))}"
                f" ({len(burst.latencies.samples)} actions)",
                errors_status(len(burst.errors)),
            ]
        )
    ratio_met = judged("ratio_vs_skeleton", rounded(ratio, 3), size=bench.settings.apps)
    table.append(
        [
            "ratio vs skeleton",
            "",
            f"{fmt(ratio, '.3f')}",
            "target ≥ 0.90",
            target_status(ratio_met, errors=len(unbinding.errors) + len(skeleton.errors)),
        ]
    )
    frozen_met = judged_issue("ratio_vs_frozen_skeleton", results, size=bench.settings.apps)
    table.append(
        [
            f"ratio vs {FROZEN_NAME}",
            "",
            f"{fmt(frozen_ratio, '.3f')}",
            f"target ≥ 1.3 (issue 12); {FLOOR_NAME} {fmt(floor_ratio, '.3f')},"
            f" {BARE_NAME} {fmt(bare_ratio, '.3f')}",
            target_status(frozen_met, errors=len(unbinding.errors) + len(frozen.errors)),
        ]
    )
    p95_met = judged_issue("action_latency_p95_ms", results, size=bench.settings.apps)
    table.append(
        [
            "action p95, all at once",
            "",
            fmt_ms(results["action_latency_p95_ms"]),
            f"target ≤ 1500 ms (issue 12); {FLOOR_NAME} {fmt_ms(results['floor_latency_p95_ms'])},"
            f" {BARE_NAME} {fmt_ms(results['bare_latency_p95_ms'])}",
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
    results["cpu_ratio_vs_skeleton"] = rounded(cpu_ratio, 3)
    table.append(
        ["ratio by CPU per app", "", f"{fmt(cpu_ratio, '.3f')}", "robust to a shared machine", ""]
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
            progress(f"  error: {error}")


async def processes(bench: Bench, results: dict[str, Any], table: list[list[str]]) -> None:
    partners = Partners.create(bench.ledger, bench.uins)
    rates: dict[int, float] = {}
    for count in PROCESS_COUNTS:
        queue = bench.queue(f"processes-{count}")
        burst = Burst()
        async with bench.workers_on(UNBINDING, queue, count=count):
            progress(f"processes: {bench.settings.process_apps} applications, {count} worker(s)")
            await unbinding_burst(bench, queue, partners, bench.settings.process_apps, burst)
        rates[count] = burst.per_second
        table.append(
            [
                f"processes: {count} worker(s)",
                f"{burst.apps} apps in {burst.seconds:.1f} s",
                f"{burst.per_second:.2f} apps/s",
                f"speedup {fmt(burst.per_second / rates[1] if rates[1] else None, '.2f')}",
                errors_status(len(burst.errors)),
            ]
        )
    results.update(
        speedup_2_workers=rounded(rates[2] / rates[1] if rates[1] else None, 2),
        speedup_4_workers=rounded(rates[4] / rates[1] if rates[1] else None, 2),
        workers_per_s={str(k): round(v, 2) for k, v in rates.items()},
    )
