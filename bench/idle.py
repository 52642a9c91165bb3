"""The idle phase: one person at a time on an idle stack, through
``UnbindingClient``. ``--idle`` direct customers with a card each apply and
confirm (answered once the application is COMPLETED), as many apply and
reject; every application is finished before the next starts. The first of
each kind warms the worker up and is not timed."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from bench.paths import DIRECT_CARD, Latencies, Partners
from bench.round_trip import spans, submission_span_ms
from bench.timing import medians_ms
from bench.verdicts import judged_issue, target_status
from bench.worker import UNBINDING
from workflows.model import UnbindStatus

if TYPE_CHECKING:
    from bench.context import Bench

S = UnbindStatus
IDLE_APPS = 15
"""Applications per timed step, as in issue 12's measurement."""


async def idle(bench: Bench, results: dict[str, Any], table: list[list[str]]) -> None:
    count = bench.settings.idle
    partners = Partners.create(bench.ledger, bench.uins)
    queue = bench.queue("idle")
    steps = {"apply": Latencies(), "confirm": Latencies(), "reject": Latencies()}
    errors: list[str] = []
    timed: list[tuple[str, float]] = []
    """Each timed application and its apply latency (seconds)."""
    timing_file = bench.settings.run_dir / f"{queue}-activity-timing.txt"
    async with bench.workers_on(UNBINDING, queue, activity_timing=timing_file):
        for index in range(2 * (count + 1)):
            warm_up = index % (count + 1) == 0
            rejects = index > count
            timing = Latencies()
            driver = bench.driver(queue, timing, partners)
            (customer,) = await bench.customers(driver, [DIRECT_CARD])
            try:
                await driver.apply(
                    customer, initiator=partners.reseller, expect=S.PENDING_CUSTOMER_CONFIRMATION
                )
                if rejects:
                    call = driver.client.reject(customer, actor=customer, reason="we stay")
                    await driver.act(customer, call, "reject", S.CUSTOMER_REJECTED)
                else:
                    call = driver.client.confirm(customer, actor=customer)
                    await driver.act(customer, call, "confirm", S.COMPLETED)
                await bench.client.get_workflow_handle(f"unbind-{customer}").result()
            except Exception as error:  # the row reports it; the run goes on
                errors.append(f"{type(error).__name__}: {error}")
                continue
            if not warm_up:
                timed.append((customer, timing.samples[0]))
                steps["apply"].samples.append(timing.samples[0])
                steps["reject" if rejects else "confirm"].samples.append(timing.samples[1])
    results["idle_round_trip_ms"] = await _round_trip(bench, timed)
    # Warm-up runs included: one in sixteen, and only their first calls are slow.
    results["idle_activity_in_worker_ms"] = medians_ms(timing_file)
    medians = {step: _p50_ms(latencies) for step, latencies in steps.items()}
    results.update(
        idle_apps=count,
        idle_apply_p50_ms=medians["apply"],
        idle_confirm_p50_ms=medians["confirm"],
        idle_reject_p50_ms=medians["reject"],
        idle_errors=len(errors),
    )
    bench.samples.update({f"idle {step}": lat.samples for step, lat in steps.items()})
    keys = ("idle_apply_p50_ms", "idle_confirm_p50_ms")
    verdicts = [judged_issue(key, results, size=count) for key in keys]
    met = None if None in verdicts else all(verdicts)
    table.append(
        [
            "idle: one person at a time",
            f"{count} apply+confirm, {count} apply+reject",
            ", ".join(f"{step} p50 {_fmt(ms)}" for step, ms in medians.items()),
            "targets ≤ 100 ms (apply, confirm → COMPLETED)",
            target_status(met, errors=len(errors)),
        ]
    )


async def _round_trip(bench: Bench, timed: list[tuple[str, float]]) -> dict[str, float]:
    """Median milliseconds of each span of an activity or workflow task round
    trip (``bench.round_trip``), over the histories of the timed applications:
    where the idle latency goes (dispatch by the server, work on the worker);
    and what the caller of ``apply`` waited beyond the server's own span from
    the start to the submission's answer (the update-with-start call and its
    answer's long poll)."""
    found: dict[str, list[float]] = defaultdict(list)
    for customer, apply_seconds in timed:
        history = await bench.client.get_workflow_handle(f"unbind-{customer}").fetch_history()
        for span, values in spans(history).items():
            found[span] += values
        found["apply: client beyond the server"].append(
            1000 * apply_seconds - submission_span_ms(history)
        )
    del found["history span"]  # includes the pause between the two people's actions
    return {span: round(statistics.median(values), 1) for span, values in found.items()}


def _p50_ms(latencies: Latencies) -> float | None:
    if not latencies.samples:
        return None
    return round(1000 * statistics.median(latencies.samples), 1)


def _fmt(ms: float | None) -> str:
    return "n/a" if ms is None else f"{ms:.0f} ms"
