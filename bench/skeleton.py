"""The yardstick: a workflow with the unbinding's shape and none of its work.

For each path of the process the benchmark reads, in a real unbinding
history, the activities between one accepted action and the next, each
server-side or local. The skeleton replays that shape: the same activities of
the same kinds in the same order (no-op bodies, no payload), the same waits
for people (each a timer raced against the next action, as ``wait_condition``
with a timeout is in the real workflow), and the same updates answered once
the story is back to waiting. What is left over in the unbinding's cost is its
business logic, payloads and side effects.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import activity, workflow

from workflows.settings import SETTINGS

SKELETON_WORKFLOW = "BenchSkeleton"
SKELETON_ACTIVITY = "bench_noop"
SUBMISSION_UPDATE = "submission"
ACTION_UPDATE = "act"
HUMAN_WAIT = SETTINGS.customer_confirmation_deadline
"""As long as a real wait, so the timer never fires during a run."""

SERVER_STEP = "a"
LOCAL_STEP = "l"
Segment = int | str
"""The activities after one accepted action: a count of server-side ones (the
frozen skeleton-v1's form), or one letter per activity in order, ``a`` for a
server-side activity and ``l`` for a local one (the learned form)."""


def as_steps(segments: Sequence[Segment]) -> list[str]:
    """Every segment in its letter form."""
    return [s if isinstance(s, str) else SERVER_STEP * s for s in segments]


@activity.defn(name=SKELETON_ACTIVITY)
def noop() -> None:
    """A synchronous no-op on the same thread pool the real activities use."""


@workflow.defn(name=SKELETON_WORKFLOW)
class SkeletonWorkflow:
    """``segments[i]`` (see :data:`Segment`) runs after the i-th accepted
    action (the submission is the first); between segments it waits."""

    def __init__(self) -> None:
        self._actions = 0
        self._answered = 0
        self._settled = False

    def _next_action(self) -> bool:
        return self._actions > self._answered

    @workflow.run
    async def run(self, segments: list[Segment]) -> int:
        policy = SETTINGS.partner_center
        steps = as_steps(segments)
        for index, segment in enumerate(steps):
            for step in segment:
                run = (
                    workflow.execute_local_activity
                    if step == LOCAL_STEP
                    else workflow.execute_activity
                )
                await run(
                    noop, start_to_close_timeout=policy.start_to_close, retry_policy=policy.retry
                )
            if index + 1 == len(steps):
                break
            self._settled = True
            self._answered = self._actions
            try:
                await workflow.wait_condition(self._next_action, timeout=HUMAN_WAIT)
            except TimeoutError:
                break
        self._settled = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._actions

    @workflow.update(name=SUBMISSION_UPDATE)
    async def submission(self) -> int:
        await workflow.wait_condition(lambda: self._settled)
        return self._actions

    @workflow.update(name=ACTION_UPDATE)
    async def act(self) -> int:
        self._actions += 1
        self._settled = False
        await workflow.wait_condition(lambda: self._settled)
        return self._actions
