"""The scale phase: ``--scale`` applications waiting on the worker as shipped,
then every one confirmed and completed, with a clean worker log."""

from __future__ import annotations

import time
from typing import Any

from bench import stack
from bench.bursts import FILL_CONCURRENCY, waiting_applications
from bench.context import Bench, all_of, error_texts
from bench.output import progress
from bench.paths import Latencies, Partners
from bench.verdicts import target_status, waiting_10k_ok
from bench.worker import UNBINDING
from workflows.model import UnbindStatus


async def scale(bench: Bench, results: dict[str, Any], table: list[list[str]]) -> None:
    """The worker as shipped (its own cache size), ``--scale`` applications
    waiting at once, then every one confirmed and completed."""
    count = bench.settings.scale
    partners = Partners.create(bench.ledger, bench.uins)
    queue = bench.queue("scale")
    trouble_before = len(bench.trouble)
    started = time.perf_counter()
    async with bench.workers_on(UNBINDING, queue) as (worker,):
        progress(f"scale: {count} applications waiting on one worker")
        empty = stack.rss_bytes(worker.pid)
        customers, failures = await waiting_applications(bench, queue, partners, count)
        filled = time.perf_counter()
        peak = stack.rss_bytes(worker.pid)
        progress(f"scale: all {count} waiting after {filled - started:.0f} s; confirming")
        driver = bench.driver(queue, Latencies(), partners)

        async def confirm(customer: str) -> None:
            await driver.act(
                customer,
                driver.client.confirm(customer, actor=customer),
                "confirm",
                UnbindStatus.COMPLETED,
            )
            await bench.client.get_workflow_handle(f"unbind-{customer}").result()

        failures += await all_of(
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
    for line in [*error_texts(failures)[:5], *trouble[:5]]:
        progress(f"  scale: {line}")
