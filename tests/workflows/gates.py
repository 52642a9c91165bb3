"""Hold one activity at a gate, in-process, to make an interleaving certain.

The worker runs over :class:`GatedPartnerCenter`, the test's real partner
center behind the same interface. A gate names an activity (by its registered
name, part of the workflow's contract) and optionally what its argument must
look like; the first call that matches says it has entered and then blocks its
thread until the test releases it, and says when the held call has gone
through. The test waits on those events, never on a fixed sleep.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from datetime import datetime
from typing import Any

import pytest
import pytest_asyncio
from temporalio import activity, workflow
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    Worker,
    WorkflowInstance,
    WorkflowInstanceDetails,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.partner_center import Submitted
from activities.sql import SqlPartnerCenter
from tests.conftest import running_worker
from workflows.model import CutoverRequest, Notification, Outbox, UnbindingRecord

GATE_WITHIN = 30.0
"""Seconds a test waits for an activity to reach its gate, and the longest a
gate holds a thread if a test forgets to release it."""


class Gate:
    """One held activity call: ``entered`` once it arrived, blocked until
    ``release``, ``passed`` once the call behind the gate has returned or raised."""

    def __init__(
        self, activity_type: str, when: Callable[[Any], bool], *, after: bool = False
    ) -> None:
        self.activity_type = activity_type
        self.when = when
        self.after = after
        """Held once the call behind the gate has returned, before the activity
        reports it: ``entered`` then says the call's transaction committed."""
        self._entered = threading.Event()
        self._released = threading.Event()
        self._passed = threading.Event()

    async def entered(self, within: float = GATE_WITHIN) -> None:
        arrived = await asyncio.to_thread(self._entered.wait, within)
        assert arrived, f"no {self.activity_type} activity reached its gate in {within}s"

    async def passed(self, within: float = GATE_WITHIN) -> None:
        through = await asyncio.to_thread(self._passed.wait, within)
        assert through, f"the held {self.activity_type} call did not go through in {within}s"

    def release(self) -> None:
        self._released.set()

    def _hold(self) -> None:
        self._entered.set()
        self._released.wait(GATE_WITHIN)


class GatedPartnerCenter:
    """The partner center, with calls that can be held at a gate."""

    def __init__(self, inner: SqlPartnerCenter) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self._armed: list[Gate] = []
        self._all: list[Gate] = []

    def hold(
        self,
        activity_type: str,
        *,
        when: Callable[[Any], bool] = lambda _: True,
        after: bool = False,
    ) -> Gate:
        """Hold the next call of ``activity_type`` whose argument matches
        ``when``: before it runs, or ``after`` it has returned."""
        gate = Gate(activity_type, when, after=after)
        with self._lock:
            self._armed.append(gate)
            self._all.append(gate)
        return gate

    def release_all(self) -> None:
        with self._lock:
            self._armed.clear()
            for gate in self._all:
                gate.release()

    @contextmanager
    def _gated(self, argument: Any, *, as_: Sequence[tuple[str, Any]] = ()) -> Iterator[None]:
        """Hold the call at its gate, if one is armed for it; mark it passed after.
        ``as_``: the (activity type, argument) pairs the call also stands for (a
        commit is the record's save and each message's notify)."""
        gate = None
        if activity.in_activity():
            calls = [(activity.info().activity_type, argument), *as_]
            with self._lock:
                gate = next(
                    (
                        g
                        for g in self._armed
                        for kind, arg in calls
                        if g.activity_type == kind and g.when(arg)
                    ),
                    None,
                )
                if gate is not None:
                    self._armed.remove(gate)
        if gate is None:
            yield
            return
        if not gate.after:
            gate._hold()
        try:
            yield
            if gate.after:
                gate._hold()
        finally:
            gate._passed.set()

    # ---- the PartnerCenter interface ---------------------------------------

    def snapshot(self) -> AbstractContextManager[None]:
        return self.inner.snapshot()

    def account(self, uin: str) -> Any:
        with self._gated(uin):
            return self.inner.account(uin)

    def discounts(self, customer_uin: str) -> tuple[str, ...]:
        return self.inner.discounts(customer_uin)

    def open_application_for(self, customer_uin: str, *, other_than: str) -> str | None:
        with self._gated(customer_uin):
            return self.inner.open_application_for(customer_uin, other_than=other_than)

    def submitted_since(
        self, customer_uin: str, since: datetime, *, other_than: str
    ) -> list[Submitted]:
        with self._gated(customer_uin):
            return self.inner.submitted_since(customer_uin, since, other_than=other_than)

    def record_of(self, application_id: str) -> UnbindingRecord | None:
        return self.inner.record_of(application_id)

    def save_record(self, record: UnbindingRecord) -> None:
        with self._gated(record):
            self.inner.save_record(record)

    def deliver(self, notification: Notification) -> int:
        with self._gated(notification):
            return self.inner.deliver(notification)

    def commit(self, outbox: Outbox) -> int:
        with self._gated(outbox, as_=_stands_for(outbox)):
            return self.inner.commit(outbox)

    def cut_over(self, request: CutoverRequest) -> Any:
        with self._gated(request, as_=_stands_for(request.outbox) + _stands_for(request.ending)):
            return self.inner.cut_over(request)


def _stands_for(outbox: Outbox | None) -> list[tuple[str, Any]]:
    """The record's save and each message's notify that a write of ``outbox`` is."""
    if outbox is None:
        return []
    record = [] if outbox.record is None else [("save_record", outbox.record)]
    return [*record, *(("notify", n) for n in outbox.notifications)]


@asynccontextmanager
async def gated_worker(
    client: Client, gated: GatedPartnerCenter, executor: ThreadPoolExecutor
) -> AsyncIterator[Worker]:
    """A real worker over ``gated``; every gate is opened before it shuts down,
    so no held thread delays the shutdown."""
    async with running_worker(client, gated, executor) as worker:  # type: ignore[arg-type]
        try:
            yield worker
        finally:
            gated.release_all()


@pytest.fixture
def gated(partner_center: SqlPartnerCenter) -> GatedPartnerCenter:
    """The test's partner center behind gates (a module may override it with a subclass)."""
    return GatedPartnerCenter(partner_center)


@pytest_asyncio.fixture
async def gated_run(
    dev_env: WorkflowEnvironment, gated: GatedPartnerCenter, executor: ThreadPoolExecutor
) -> AsyncIterator[Worker]:
    """A worker on the dev server over ``gated``."""
    async with gated_worker(dev_env.client, gated, executor) as worker:
        yield worker


class HandOverGate(WorkflowRunner):
    """Holds the first workflow task that continues a run as new, after the
    worker decided it and before the server hears of it: meanwhile the run is
    handing over (its task in flight) and the test sends what it wants to land
    exactly then. Pass as ``workflow_runner``, then call :meth:`patient_with`
    on the worker."""

    def __init__(self, inner: WorkflowRunner | None = None) -> None:
        self.inner = inner or SandboxedWorkflowRunner()
        self.gate = Gate("continue_as_new", lambda _: True)
        self._armed = threading.Event()

    def arm(self) -> Gate:
        self._armed.set()
        return self.gate

    @staticmethod
    def patient_with(worker: Worker) -> None:
        """A held task would count as a deadlock after 2 s: switch the check
        off. (``debug_mode`` would too, but it runs tasks on the event loop,
        which the gate would then block.)"""
        workflows = worker._workflow_worker
        assert workflows is not None
        workflows._deadlock_timeout_seconds = None

    def prepare_workflow(self, defn: workflow._Definition) -> None:
        self.inner.prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _HeldInstance(self.inner.create_instance(det), self)

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self.inner.set_worker_level_failure_exception_types(types)

    def _after(self, completion: WorkflowActivationCompletion) -> None:
        continues = any(
            command.HasField("continue_as_new_workflow_execution")
            for command in completion.successful.commands
        )
        if continues and self._armed.is_set():
            self._armed.clear()
            self.gate._hold()
            self.gate._passed.set()


class _HeldInstance(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance, gate: HandOverGate) -> None:
        self._inner = inner
        self._gate = gate

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        completion = self._inner.activate(act)
        self._gate._after(completion)
        return completion

    def get_serialization_context(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.get_serialization_context(*args, **kwargs)

    def get_external_store_context(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.get_external_store_context(*args, **kwargs)

    def get_info(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.get_info(*args, **kwargs)
