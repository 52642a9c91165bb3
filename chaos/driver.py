"""Drives applications through their paths as people would: through the typed
client API, retrying a call that got no answer with the same ``action_id`` (the
product's idempotency promise), and watching each application's recorded status
in the partner center (readable with no worker running)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle

from activities.sql import SqlPartnerCenter
from chaos.plans import Application, Role, Step
from chaos.settings import ChaosSettings
from starter.client import (
    ApplicationConflict,
    UnbindingClient,
    Unreachable,
    build_action,
    build_application,
)
from starter.progress import phase
from workflows.actions import ACTION_TYPES
from workflows.contract import workflow_id_for
from workflows.model import Action, ActionKind, UnbindingState, UnbindStatus
from workflows.unbinding import UnbindingWorkflow

log = logging.getLogger("chaos")

RETRY_EVERY = 1.0
"""Seconds between attempts of a call that could not be answered."""


class Deadline:
    """When stragglers count as stuck; pushed back after every fault."""

    def __init__(self, after: timedelta) -> None:
        self._after = after
        self.at = time.monotonic() + after.total_seconds()

    def restart(self) -> None:
        self.at = time.monotonic() + self._after.total_seconds()

    @property
    def remaining(self) -> float:
        return self.at - time.monotonic()


class StatusBoard:
    """Every application's status as recorded on the "Unbinding Customers"
    page, polled from the database (a query would need a worker)."""

    def __init__(self, pc: SqlPartnerCenter, settings: ChaosSettings) -> None:
        self._pc = pc
        self._every = settings.poll_every.total_seconds()
        self.statuses: dict[str, UnbindStatus] = {}
        self.readings = 0
        """Successful polls so far."""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _poll(self) -> None:
        while True:
            try:
                records = await asyncio.to_thread(self._pc.records)
            except Exception as error:  # a locked database: look again later
                log.debug("status board: %s", error)
            else:
                self.statuses = {r.application_id: r.status for r in records}
                self.readings += 1
            await asyncio.sleep(self._every)

    async def open_now(self, *, within: float) -> int:
        """Applications open (recorded, not terminal) by a reading taken after
        this call, or by the last one if none succeeds ``within`` seconds."""
        seen = self.readings
        give_up = time.monotonic() + within
        while self.readings <= seen + 1 and time.monotonic() < give_up:
            await asyncio.sleep(self._every / 5)
        return sum(1 for status in self.statuses.values() if not status.is_terminal)

    async def wait_for(self, application_id: str, status: UnbindStatus, deadline: Deadline) -> None:
        while self.statuses.get(application_id) is not status:
            if deadline.remaining <= 0:
                raise TimeoutError(f"never reached {status}")
            await asyncio.sleep(self._every)


StepHook = Callable[[Application, int], Awaitable[None]]
"""Called before an application's step ``i`` (``i == len(steps)``: after the last)."""


async def _no_hook(application: Application, step: int) -> None:
    return None


async def _no_submit_hook(application: Application) -> None:
    return None


class Driver:
    def __init__(
        self,
        client: UnbindingClient,
        pc: SqlPartnerCenter,
        board: StatusBoard,
        settings: ChaosSettings,
        deadline: Deadline,
        *,
        before_step: StepHook = _no_hook,
    ) -> None:
        self.client = client
        self.pc = pc
        self.board = board
        self.settings = settings
        self.deadline = deadline
        self.before_step = before_step
        self.before_submit: Callable[[Application], Awaitable[None]] = _no_submit_hook
        self.copies: Callable[[Application, int], int] = lambda application, step: 1
        """How many times to send step ``i`` of an application (same action_id)."""
        self.outage_barrier: object | None = None
        self.think_time = settings.think_time
        self._rng = random.Random(settings.seed)

    async def drive_all(self, applications: list[Application], *, label: str) -> None:
        """Play every application's plan; shows how many have played as ``label``."""
        with phase(label, total=len(applications)) as played:

            async def drive(application: Application) -> None:
                await self.drive(application)
                played()

            await asyncio.gather(*(drive(a) for a in applications))

    async def drive(self, application: Application) -> None:
        try:
            await self.before_submit(application)
            await self._submit(application)
            for index, step in enumerate(application.plan.steps):
                await self.before_step(application, index)
                await self.board.wait_for(application.application_id, step.wait_for, self.deadline)
                if self.copies(application, index) == 1:
                    await asyncio.sleep(self._rng.uniform(*self.think_time))
                await self.take(application, step, index, copies=self.copies(application, index))
            await self.before_step(application, len(application.plan.steps))
        except Exception as error:
            application.driver_error = f"{type(error).__name__}: {error}"
            log.warning("application %s: %s", application.index, application.driver_error)

    async def _submit(self, application: Application) -> None:
        submission = build_application(
            customer_uin=application.customer,
            initiator_uin=application.actor(Role.INITIATOR),
            notice_acknowledged=True,
            reason="chaos",
            deadlines=application.deadlines(self.settings),
            application_id=application.application_id,
            requested_by=application.requested_by,
            effective=application.effective,
        )
        while True:
            try:
                answer = await self.client.submit(submission)
            except ApplicationConflict:
                return  # an earlier attempt started it; its answer was lost
            except Unreachable:
                if self.deadline.remaining <= 0:
                    raise
                await asyncio.sleep(RETRY_EVERY)
                continue
            should_pass = application.plan.outcome is not UnbindStatus.PRECHECK_FAILED
            if answer.accepted != should_pass:
                application.refusals.append(f"submission answered {answer}")
            return

    def action_for(self, application: Application, step: Step, index: int) -> Action:
        fields: dict[str, Any] = {}
        if step.kind in (ActionKind.REVIEW, ActionKind.RESELLER_REVIEW):
            fields["approve"] = step.approve
        if step.reason is not None:
            fields["reason"] = step.reason
        action_id = f"{application.application_id}-{index}-{step.kind}"
        return build_action(
            ACTION_TYPES[step.kind],
            actor=application.actor(step.actor),
            action_id=action_id,
            **fields,
        )

    async def take(
        self, application: Application, step: Step, index: int, *, copies: int = 1
    ) -> None:
        """Change the ledger if the step needs it, then act (``copies`` times
        with the same ``action_id``, concurrently)."""
        if step.before is not None:
            change = step.before
            await self._retry(lambda: asyncio.to_thread(change, self.pc, application.customer))
        action = self.action_for(application, step, index)
        application.action_ids.append(action.action_id)
        channel = application.channels[index]
        await asyncio.gather(*(self._send(application, action, channel) for _ in range(copies)))

    async def _send(self, application: Application, action: Action, channel: str) -> None:
        if channel == "signal":
            await self._retry(lambda: self.client.signal(application.customer, action))
            return
        result = await self._retry(lambda: self.client.act(application.customer, action))
        if not result.accepted:
            application.refusals.append(f"{action.kind} refused: {result.reason}")

    async def _retry(self, call: Callable[[], Awaitable[Any]]) -> Any:
        while True:
            try:
                return await call()
            except Exception as error:  # unreachable Temporal, a locked database
                if self.deadline.remaining <= 0:
                    raise
                log.debug("retrying after %s", error)
                await asyncio.sleep(RETRY_EVERY)

    # ---- the end ---------------------------------------------------------------

    def handle(self, application: Application) -> WorkflowHandle[Any, UnbindingState]:
        return self.client.temporal.get_workflow_handle_for(
            UnbindingWorkflow.run, workflow_id_for(application.customer)
        )

    async def outcome(
        self, application: Application
    ) -> tuple[UnbindingState | None, WorkflowExecutionStatus | None]:
        """The workflow's result and Temporal's status of the run, waiting until
        it closes or the deadline passes (then: stuck, ``None`` state)."""
        handle = self.handle(application)
        while True:
            try:
                description = await handle.describe()
                if description.status is not WorkflowExecutionStatus.RUNNING:
                    if description.status is WorkflowExecutionStatus.COMPLETED:
                        return await handle.result(), description.status
                    return None, description.status
            except Exception as error:
                log.debug("outcome of %s: %s", application.index, error)
                if self.deadline.remaining <= 0:
                    return None, None
            if self.deadline.remaining <= 0:
                return None, WorkflowExecutionStatus.RUNNING
            await asyncio.sleep(1.0)


__all__ = ["Deadline", "Driver", "StatusBoard"]
