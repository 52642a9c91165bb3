"""The work a phase times: bursts of unbinding applications and of skeletons
shaped like them, applications left waiting, and the CPU each process spent."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from bench import stack
from bench.context import Bench, all_of, error_texts
from bench.markers import local_activity_type
from bench.paths import DIRECT_CARD, PATHS, Latencies, Partners, mixed
from bench.skeleton import (
    ACTION_UPDATE,
    LOCAL_STEP,
    SERVER_STEP,
    SKELETON_WORKFLOW,
    SUBMISSION_UPDATE,
    Segment,
)
from workflows.model import UnbindStatus

FILL_CONCURRENCY = 200
"""Applications submitted at once while filling the memory and scale phases."""


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
    failures = await all_of(
        (driver.play(s, c) for s, c in zip(stories, customers, strict=True)),
        concurrency=bench.settings.concurrency,
        label=f"{count} unbinding applications",
    )
    into.seconds += time.perf_counter() - started
    into.apps += count
    into.errors += error_texts(failures)


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
    failures = await all_of(
        (
            skeleton_app(bench.client, task_queue, shape, wid, into.latencies)
            for shape, wid in zip(shapes, ids, strict=True)
        ),
        concurrency=bench.settings.concurrency,
        label=f"{count} skeleton workflows",
    )
    into.seconds += time.perf_counter() - started
    into.apps += count
    into.errors += error_texts(failures)


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


async def waiting_applications(
    bench: Bench, queue: str, partners: Partners, count: int
) -> tuple[list[str], list[BaseException]]:
    """``count`` direct customers' applications, each left waiting for the
    customer's decision; their UINs and the failures."""
    driver = bench.driver(queue, Latencies(), partners)
    customers = await bench.customers(driver, [DIRECT_CARD] * count)
    failures = await all_of(
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


async def waiting_skeletons(
    bench: Bench, queue: str, count: int, shapes: dict[str, list[Segment]]
) -> list[BaseException]:
    """``count`` skeletons of the direct path as ``shapes`` has it, each at its first wait."""
    shape = shapes[DIRECT_CARD.name]
    ids = [f"skeleton-{bench.uins()}" for _ in range(count)]
    return await all_of(
        (submit_skeleton(bench.client, queue, shape, wid) for wid in ids),
        concurrency=bench.settings.concurrency or FILL_CONCURRENCY,
        label=f"{count} skeletons left waiting",
    )
