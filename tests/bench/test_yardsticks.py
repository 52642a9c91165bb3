"""Each yardstick the bench compares with runs what it is named for: on the
real dev server, a skeleton of skeleton-v1's, the floor's or bare's shape
schedules exactly that many activities after each answered action."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.bursts import skeleton_app
from bench.frozen import bare_shapes, floor_shapes, frozen_shapes
from bench.paths import Latencies
from bench.skeleton import SkeletonWorkflow, as_steps, noop

pytestmark = pytest.mark.integration

PATHS = ("direct, card binding", "final check fails, recheck", "precheck fails")


async def activities_after_each_action(
    env: WorkflowEnvironment, task_queue: str, shape: list[int]
) -> tuple[list[int], int]:
    """Run one skeleton of ``shape`` as the bench does: the activities its
    history schedules after each accepted action, and the answers timed."""
    workflow_id = f"yardstick-{uuid.uuid4()}"
    latencies = Latencies()
    await skeleton_app(env.client, task_queue, list(shape), workflow_id, latencies)
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    counts: list[int] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            counts.append(0)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            counts[-1] += 1
    return counts, len(latencies.samples)


async def test_skeleton_v1_the_floor_and_bare_schedule_the_activities_they_are_named_for(
    dev_env: WorkflowEnvironment, executor: ThreadPoolExecutor
) -> None:
    frozen = frozen_shapes()
    yardsticks = {
        "skeleton-v1": frozen,
        "floor": floor_shapes(frozen),
        "bare": bare_shapes(frozen),
    }
    task_queue = f"yardsticks-{uuid.uuid4()}"
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[SkeletonWorkflow],
        activities=[noop],
        activity_executor=executor,
    ):
        for name, shapes in yardsticks.items():
            for path in PATHS:
                shape = shapes[path]
                counts, answers = await activities_after_each_action(dev_env, task_queue, shape)
                assert counts == [len(step) for step in as_steps(shape)], (name, path)
                assert answers == len(shape), (name, path)
    assert floor_shapes(frozen)["direct, card binding"] == [1, 1, 1]
    assert bare_shapes(frozen)["precheck fails"] == [0]
