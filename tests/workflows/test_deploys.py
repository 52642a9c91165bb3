"""Safe deploys (issue 14): a new worker build meets runs started by the old one.

On the dev server, one task queue: worker build A (today's workflow code)
starts an application and stops with it waiting for the customer; worker
build B, whose workflow code adds a step guarded by ``workflow.patched``,
takes over. The old run finishes under B along A's path (its history
replays), and a new run takes B's path. The same change without the guard
breaks the old run: that is what the patch (and tests/workflows/test_replay.py)
protects against. docs/OPERATIONS.md, "Deploying a new worker build", says why
patching, not worker deployment versioning, is how this project deploys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from temporalio import workflow
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkerDeploymentVersion
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker, WorkerDeploymentConfig

from activities.sql import SqlPartnerCenter
from activities.unbinding import UnbindingActivities
from tests.conftest import Ledger, Parties, eventually, running_worker
from tests.workflows.scenarios import SIGNALS, act, action, reach
from workflows.model import ActionKind, Notification, UnbindingState, UnbindStatus
from workflows.publishing import call
from workflows.settings import SETTINGS
from workflows.texts import Message
from workflows.unbinding import UnbindingWorkflow

S = UnbindStatus
NON_DETERMINISTIC = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
RECEIVED_PATCH = "deploy-test-customer-told-on-receipt"
RECEIVED = Message("Unbinding application received", "Your reseller applied to unbind you.")


# Build B's step is a server-side activity: a new command, which the server's
# history must match. (A message alone changes no command since the outbox:
# it rides in the next write's input, which replay does not compare.)
SERVER_SIDE = dataclasses.replace(SETTINGS.partner_center, local=False)


async def _tell_the_customer(run: UnbindingWorkflow) -> None:
    """Build B's new step, once the preconditions passed: a message to the customer."""
    public = run._state.public
    notification = Notification(
        application_id=public.application_id,
        workflow_id=public.workflow_id,
        event="received",
        recipients=(public.customer_uin,),
        subject=RECEIVED.subject,
        body=RECEIVED.body,
        at=workflow.now(),
    )
    await call(
        UnbindingActivities.notify, notification, summary="Tell the customer", policy=SERVER_SIDE
    )


@workflow.defn(name="Unbinding", sandboxed=False)
class PatchedBuildB(UnbindingWorkflow):
    """Today's workflow plus a step, guarded as every change to commands must be."""

    @workflow.run
    async def run(self, *payload: Any) -> UnbindingState:
        return await super().run(*payload)

    async def _check_preconditions(self) -> None:
        await super()._check_preconditions()
        if self._state.resume_in is None and self._takes_the_new_step():
            await _tell_the_customer(self)

    def _takes_the_new_step(self) -> bool:
        return workflow.patched(RECEIVED_PATCH)


@workflow.defn(name="Unbinding", sandboxed=False)
class UnguardedBuildB(PatchedBuildB):
    """The same step without the guard: what the patch rule forbids."""

    @workflow.run
    async def run(self, *payload: Any) -> UnbindingState:
        return await super().run(*payload)

    def _takes_the_new_step(self) -> bool:
        return True


@asynccontextmanager
async def build(
    client: Client,
    pc: SqlPartnerCenter,
    executor: ThreadPoolExecutor,
    task_queue: str,
    build_id: str,
    workflows: Sequence[type] = (UnbindingWorkflow,),
) -> AsyncIterator[Worker]:
    """One worker build on ``task_queue``; its build id is stamped on every
    workflow task it completes (no versioning: the task queue routes as usual)."""
    stamp = WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(deployment_name="unbind", build_id=build_id),
        use_worker_versioning=False,
    )
    async with running_worker(
        client, pc, executor, task_queue=task_queue, workflows=workflows, deployment_config=stamp
    ) as worker:
        yield worker


async def _builds_that_completed_tasks(handle: WorkflowHandle[Any, Any]) -> list[str]:
    builds = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            attributes = event.workflow_task_completed_event_attributes
            build_id = attributes.deployment_version.build_id or attributes.worker_version.build_id
            if not builds or builds[-1] != build_id:
                builds.append(build_id)
    return builds


async def _patch_markers(handle: WorkflowHandle[Any, Any]) -> int:
    history = await handle.fetch_history()
    return sum(
        1
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and RECEIVED_PATCH.encode() in event.SerializeToString()
    )


def _events_of(pc: SqlPartnerCenter, parties: Parties) -> list[str]:
    return [message["event"] for message in pc.inbox(parties.customer)]


async def _old_run_waiting_under_build_a(
    client: Client, pc: SqlPartnerCenter, executor: ThreadPoolExecutor, parties: Parties, tq: str
) -> WorkflowHandle[Any, UnbindingState]:
    async with build(client, pc, executor, tq, "build-a"):
        old = await reach(client, tq, pc, parties, S.PENDING_CUSTOMER_CONFIRMATION)
    return old


async def test_an_old_run_finishes_on_the_new_build_and_a_new_run_takes_its_path(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    executor: ThreadPoolExecutor,
) -> None:
    client, tq = dev_env.client, "deploy-patched"
    first, second = ledger.direct(card=True), ledger.direct(card=True)
    old = await _old_run_waiting_under_build_a(client, partner_center, executor, first, tq)

    async with build(client, partner_center, executor, tq, "build-b", [PatchedBuildB]):
        confirmed = await act(old, ActionKind.CONFIRM, first.customer)
        assert confirmed.accepted, confirmed
        finished = await old.result()
        new = await reach(client, tq, partner_center, second, S.PENDING_CUSTOMER_CONFIRMATION)
        assert (await act(new, ActionKind.CONFIRM, second.customer)).accepted
        new_finished = await new.result()

    # The old run: A's path to the end, its first tasks by A and the rest by B.
    assert finished.status is S.COMPLETED
    assert "received" not in _events_of(partner_center, first)
    assert await _builds_that_completed_tasks(old) == ["build-a", "build-b"]
    assert await _patch_markers(old) == 0
    # The new run: B's path, with the patch recorded in its history.
    assert new_finished.status is S.COMPLETED
    assert "received" in _events_of(partner_center, second)
    assert await _builds_that_completed_tasks(new) == ["build-b"]
    assert await _patch_markers(new) == 1
    # Both histories replay on B's code (what test_replay does for recorded ones).
    replayer = Replayer(workflows=[PatchedBuildB], data_converter=client.data_converter)
    for handle in (old, new):
        await replayer.replay_workflow(await handle.fetch_history())


async def test_the_same_change_unguarded_breaks_the_old_run(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    executor: ThreadPoolExecutor,
) -> None:
    """The control: without ``workflow.patched`` the old run's history no longer
    matches the code, and its workflow task fails until a fixed build takes it."""
    client, tq = dev_env.client, "deploy-unguarded"
    parties = ledger.direct(card=True)
    old = await _old_run_waiting_under_build_a(client, partner_center, executor, parties, tq)

    async def failure_causes() -> list[int]:
        return [
            event.workflow_task_failed_event_attributes.cause
            async for event in old.fetch_history_events()
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]

    async with build(client, partner_center, executor, tq, "build-b", [UnguardedBuildB]):
        # A signal makes a workflow task, which build B must replay the history for.
        await old.signal(SIGNALS[ActionKind.CONFIRM], action(ActionKind.CONFIRM, parties.customer))
        causes = await eventually(failure_causes, bool)
    assert causes and set(causes) == {NON_DETERMINISTIC}, causes

    # Build A again (the rollback) takes the task and finishes the run along its path.
    async with build(client, partner_center, executor, tq, "build-a"):
        assert (await old.result()).status is S.COMPLETED
    assert "received" not in _events_of(partner_center, parties)
