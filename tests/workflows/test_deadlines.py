"""Deadlines, reminders, automatic rechecks, withdrawal and cancellation in
every waiting state, on the time-skipping test server with a real worker and
a real SQLite partner center."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger, Parties, running_worker
from tests.workflows.scenarios import SIGNALS, act, action, reach, status
from workflows.model import ActionKind, Deadlines, UnbindingState, UnbindStatus
from workflows.settings import SETTINGS

S = UnbindStatus
pytestmark = pytest.mark.timeskipping

WAITS = {
    S.PENDING_DISTRIBUTOR_REVIEW: ("distributor", timedelta(days=10)),
    S.PENDING_CUSTOMER_CONFIRMATION: ("customer", timedelta(days=10)),
    S.PENDING_CARD_BINDING: ("customer", timedelta(days=10)),
    S.AWAITING_REMEDIATION: ("reseller", timedelta(days=7)),
}


def parties_for(ledger: Ledger, state: UnbindStatus) -> Parties:
    if state is S.PENDING_DISTRIBUTOR_REVIEW:
        return ledger.second_level()
    return ledger.direct(card=state is not S.PENDING_CARD_BINDING)


def inbox_events(pc: SqlPartnerCenter, uin: str) -> list[str]:
    return [m["event"] for m in pc.inbox(uin)]


@dataclass(frozen=True)
class Scene:
    """The time-skipping server, the test's partner center and its ledger of parties."""

    env: WorkflowEnvironment
    ledger: Ledger
    executor: ThreadPoolExecutor

    @property
    def pc(self) -> SqlPartnerCenter:
        return self.ledger.pc

    @asynccontextmanager
    async def waiting(
        self, parties: Parties, state: UnbindStatus, *, deadlines: Deadlines | None = None
    ) -> AsyncIterator[WorkflowHandle[Any, UnbindingState]]:
        """``parties``' application waiting in ``state``, on a worker of its own
        that runs until the block ends."""
        client = self.env.client
        async with running_worker(client, self.pc, self.executor) as worker:
            yield await reach(
                client, worker.task_queue, self.pc, parties, state, deadlines=deadlines
            )


@pytest.fixture
def scene(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> Scene:
    return Scene(time_skipping_env, ledger, executor)


@pytest.mark.parametrize("waiting_in", list(WAITS))
async def test_every_wait_expires_with_reminders_first(
    scene: Scene, waiting_in: UnbindStatus
) -> None:
    parties = parties_for(scene.ledger, waiting_in)
    awaited_role, wait = WAITS[waiting_in]
    awaited = getattr(parties, awaited_role)
    async with scene.waiting(parties, waiting_in) as handle:
        entered = (await status(handle)).transitions[-1].at
        outcome = await handle.result()

    assert outcome.status is S.EXPIRED
    reminders = [m for m in scene.pc.inbox(awaited) if m["event"].startswith("reminder:")]
    assert [m["event"] for m in reminders] == [
        f"reminder:{waiting_in}:3d",
        f"reminder:{waiting_in}:1d",
    ]
    # Reminders fire at the workflow's own time, just before the deadline
    # (timers fire with the next workflow task, a few milliseconds late).
    sent_after = [datetime.fromisoformat(m["at"]) - entered for m in reminders]
    expected = [wait - timedelta(days=3), wait - timedelta(days=1)]
    assert all(
        timedelta(0) <= s - e < timedelta(seconds=1)
        for s, e in zip(sent_after, expected, strict=True)
    )
    for uin in {parties.customer, parties.reseller, parties.distributor} - {None}:
        assert inbox_events(scene.pc, uin).count("expired") == 1
    [record] = scene.pc.records(parties.customer)
    assert record.status is S.EXPIRED


async def test_remediation_rechecks_itself_once_the_account_is_fixed(scene: Scene) -> None:
    parties = scene.ledger.direct()
    every = timedelta(hours=6)
    deadlines = Deadlines(auto_recheck_every=every)
    async with scene.waiting(parties, S.AWAITING_REMEDIATION, deadlines=deadlines) as handle:
        waiting = await status(handle)
        assert [c.check for c in waiting.failed_checks] == ["account_frozen"]
        scene.pc.set_account(parties.customer, frozen=False)
        outcome = await handle.result()

    assert outcome.status is S.COMPLETED
    scheduled = [e for e in outcome.timeline if e.action == "recheck"]
    assert scheduled and all(e.actor == "system" for e in scheduled)
    # The first automatic recheck came one interval after the failure.
    late = scheduled[0].at - waiting.transitions[-1].at - every
    assert timedelta(0) <= late < timedelta(minutes=1)
    assert outcome.effective_at is not None
    assert scene.pc.show(parties.customer)["partner"] is None


@pytest.mark.parametrize("waiting_in", list(WAITS))
async def test_withdraw_in_every_waiting_state(scene: Scene, waiting_in: UnbindStatus) -> None:
    parties = parties_for(scene.ledger, waiting_in)
    async with scene.waiting(parties, waiting_in) as handle:
        result = await act(handle, ActionKind.WITHDRAW, parties.reseller, reason="agreed otherwise")
        outcome = await handle.result()

    assert result.accepted and result.status is S.WITHDRAWN
    assert outcome.status is S.WITHDRAWN and outcome.outcome_reason == "agreed otherwise"
    [record] = scene.pc.records(parties.customer)
    assert record.status is S.WITHDRAWN
    assert inbox_events(scene.pc, parties.customer).count("withdrawn") == 1
    assert scene.pc.show(parties.customer)["partner"]["uin"] == parties.reseller


@pytest.mark.parametrize("waiting_in", list(WAITS))
async def test_operator_cancel_in_every_waiting_state(
    scene: Scene, waiting_in: UnbindStatus
) -> None:
    parties = parties_for(scene.ledger, waiting_in)
    async with scene.waiting(parties, waiting_in) as handle:
        await handle.cancel()
        outcome = await handle.result()

    assert outcome.status is S.CANCELLED
    [record] = scene.pc.records(parties.customer)
    assert record.status is S.CANCELLED
    for uin in {parties.customer, parties.reseller, parties.distributor} - {None}:
        assert inbox_events(scene.pc, uin).count("cancelled") == 1
    assert scene.pc.show(parties.customer)["agreement"]["state"] == "active"


async def test_a_flood_of_refused_signals_cannot_grow_the_timeline_without_bound(
    scene: Scene,
) -> None:
    parties = scene.ledger.direct()
    stranger = "10000000999"
    flood = SETTINGS.max_timeline_entries + 20
    async with scene.waiting(parties, S.PENDING_CUSTOMER_CONFIRMATION) as handle:
        signal = SIGNALS[ActionKind.CONFIRM]
        await asyncio.gather(
            *(handle.signal(signal, action(ActionKind.CONFIRM, stranger)) for _ in range(flood))
        )
        result = await act(handle, ActionKind.CONFIRM, parties.customer)
        outcome = await handle.result()

    assert result.accepted and outcome.status is S.COMPLETED
    refused = [e for e in outcome.timeline if not e.accepted]
    assert len(outcome.timeline) <= SETTINGS.max_timeline_entries + 1
    assert len(refused) + outcome.unlogged_rejections == flood
    assert outcome.unlogged_rejections > 0
