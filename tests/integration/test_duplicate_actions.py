"""A repeated action (same ``action_id``) has one effect, whether it arrives as
a signal or an update, and a signal from the wrong actor changes nothing: on
the Temporal dev server, straight through the Temporal client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from tests.conftest import Ledger, eventually
from tests.integration.conftest import assert_inbox, handle_for
from tests.workflows.scenarios import SIGNALS, UPDATES, action
from workflows.model import ActionKind, ActionResult, UnbindingState, UnbindStatus
from workflows.unbinding import UnbindingWorkflow

pytestmark = pytest.mark.integration
S = UnbindStatus


async def state_once(
    handle: WorkflowHandle[Any, UnbindingState], until: Callable[[UnbindingState], bool]
) -> UnbindingState:
    return await eventually(lambda: handle.query(UnbindingWorkflow.status), until)


async def test_same_confirmation_twice_as_signal_and_twice_as_update_has_one_effect(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, worker: Worker
) -> None:
    parties = ledger.direct(card=False)
    client = UnbindingClient(dev_env.client, task_queue=worker.task_queue)
    assert (
        await client.apply(
            customer_uin=parties.customer, initiator_uin=parties.reseller, notice_acknowledged=True
        )
    ).accepted
    handle = handle_for(dev_env, parties.customer)
    confirmation = action(ActionKind.CONFIRM, parties.customer)

    await handle.signal(SIGNALS[ActionKind.CONFIRM], confirmation)
    await handle.signal(SIGNALS[ActionKind.CONFIRM], confirmation)
    first: ActionResult = await handle.execute_update(UPDATES[ActionKind.CONFIRM], confirmation)
    second: ActionResult = await handle.execute_update(UPDATES[ActionKind.CONFIRM], confirmation)

    assert first == second == ActionResult(accepted=True, status=S.PENDING_CARD_BINDING)
    state = await handle.query(UnbindingWorkflow.status)
    assert state.status is S.PENDING_CARD_BINDING
    assert [(e.action_id, e.accepted) for e in state.timeline] == [(confirmation.action_id, True)]
    assert [t.status for t in state.transitions] == [
        S.PENDING_CUSTOMER_CONFIRMATION,
        S.PENDING_CARD_BINDING,
    ]
    assert_inbox(partner_center, parties.reseller, {"submitted", "customer_decision:confirmed"})
    assert_inbox(
        partner_center, parties.customer, {"confirmation_requested", "card_binding_requested"}
    )

    # A signal cannot be refused to its sender: the refusal goes in the timeline.
    intruder = action(ActionKind.CARD_BOUND, parties.reseller)
    await handle.signal(SIGNALS[ActionKind.CARD_BOUND], intruder)
    state = await state_once(handle, lambda s: len(s.timeline) == 2)

    [refusal] = [e for e in state.timeline if e.action_id == intruder.action_id]
    assert refusal.accepted is False
    assert refusal.actor == parties.reseller
    assert refusal.reason is not None and "only the customer may report" in refusal.reason
    assert state.status is S.PENDING_CARD_BINDING
    assert len(state.transitions) == 2
    assert partner_center.count("inbox", recipient_uin=parties.customer) == 2
    [record] = partner_center.records(parties.customer)
    assert record.status is S.PENDING_CARD_BINDING
