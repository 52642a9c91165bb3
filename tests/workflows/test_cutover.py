"""The cutover is irreversible: once started, an operator's cancel is recorded
and ignored, and the cutover runs to completion. On the real dev server and
the real partner center, with a gate that holds the cutover in flight."""

from __future__ import annotations

import asyncio
import threading

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger, eventually, running_worker
from tests.workflows.scenarios import act, reach, status
from workflows.model import (
    ActionKind,
    CutoverRequest,
    CutoverResult,
    UnbindingState,
    UnbindStatus,
)

S = UnbindStatus
pytestmark = pytest.mark.integration


class GatedPartnerCenter(SqlPartnerCenter):
    """The real partner center, whose cutover waits until the gate opens."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.reached = threading.Event()
        self.gate = threading.Event()

    def cut_over(self, request: CutoverRequest) -> CutoverResult:
        self.reached.set()
        self.gate.wait(timeout=30)
        return super().cut_over(request)


def cancel_recorded(state: UnbindingState) -> bool:
    return any(entry.action == "cancel" for entry in state.timeline)


async def test_cancel_during_cutover_is_ignored_until_cutover_finishes(
    dev_env: WorkflowEnvironment, database_url: str, executor
) -> None:
    pc = GatedPartnerCenter(database_url)
    parties = Ledger(pc).direct()
    client = dev_env.client
    async with running_worker(client, pc, executor) as worker:
        handle = await reach(client, worker.task_queue, pc, parties, S.AWAITING_REMEDIATION)
        pc.set_account(parties.customer, frozen=False)
        recheck = asyncio.create_task(act(handle, ActionKind.RECHECK, parties.reseller))
        assert await asyncio.to_thread(pc.reached.wait, 30)
        assert (await status(handle)).status is S.CUTTING_OVER

        await handle.cancel()
        # The workflow has taken the cancel (its timeline says so) and is
        # still cutting over: the gate holds the cutover in flight.
        during = await eventually(lambda: status(handle), cancel_recorded)
        assert cancel_recorded(during), during.timeline
        assert during.status is S.CUTTING_OVER
        pc.gate.set()
        outcome = await handle.result()
        answer = await recheck

    assert outcome.status is S.COMPLETED and answer.status is S.COMPLETED
    ignored = [e for e in outcome.timeline if e.action == "cancel"]
    assert [(e.accepted, e.reason) for e in ignored] == [
        (False, "cutover in progress: cancel ignored")
    ]
    assert pc.show(parties.customer)["partner"] is None
    assert pc.count("cutovers", customer_uin=parties.customer) == 1
    [record] = pc.records(parties.customer)
    assert record.status is S.COMPLETED and record.effective_at == outcome.effective_at
    pc.dispose()
