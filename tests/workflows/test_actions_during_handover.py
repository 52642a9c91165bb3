"""Actions that arrive while an application hands over to its next run
(continue-as-new), on the real dev server with a real worker.

docs/PROCESS.md, "Action storms and history size", promises that a waiting application
waits for running handlers before it continues as new, and that actions sent
by workflow id follow the latest run; ``UnbindingClient.act`` sends an action
again while a run hands over, and answers "already ended" once the application
has ended. The hand-over is forced by lowering the history bound of human
waits for this test only, and held at a gate so the action lands exactly then.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.inputs import action_of_kind
from tests.conftest import Ledger, Parties, eventually, history_length, running_worker
from tests.integration.conftest import assert_inbox
from tests.workflows.gates import GatedPartnerCenter, HandOverGate
from workflows.contract import update_id_for, workflow_id_for
from workflows.model import Action, ConfirmAction, UnbindingState, UnbindStatus
from workflows.unbinding import UnbindingWorkflow

pytestmark = pytest.mark.integration
S = UnbindStatus


@dataclasses.dataclass
class Stage:
    client: UnbindingClient
    temporal: Client
    hand_over: HandOverGate
    gated: GatedPartnerCenter


@pytest_asyncio.fixture
async def stage(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, executor: ThreadPoolExecutor
) -> AsyncIterator[Stage]:
    hand_over = HandOverGate()
    gated = GatedPartnerCenter(partner_center)
    async with running_worker(
        dev_env.client,
        gated,  # type: ignore[arg-type]
        executor,
        workflow_runner=hand_over,
    ) as worker:
        hand_over.patient_with(worker)
        try:
            yield Stage(
                UnbindingClient(dev_env.client, task_queue=worker.task_queue),
                dev_env.client,
                hand_over,
                gated,
            )
        finally:
            hand_over.gate.release()
            gated.release_all()


async def hand_over_now(
    stage: Stage, parties: Parties, lower: Callable[[int], None]
) -> WorkflowHandle[Any, UnbindingState]:
    """Make the waiting run's history "long" and wake it with a refused action:
    it continues as new, and the task doing so is held at the gate."""
    handle = stage.temporal.get_workflow_handle_for(
        UnbindingWorkflow.run, workflow_id_for(parties.customer)
    )
    lower(await history_length(handle))
    stage.hand_over.arm()
    await handle.signal("confirm", ConfirmAction(action_id="noise-1", actor=parties.reseller))
    await stage.hand_over.gate.entered()
    return handle


async def admitted(temporal: Client, customer: str, action: Action) -> bool:
    """The server has taken the action's update in (it waits for the run)."""
    try:
        await temporal.workflow_service.poll_workflow_execution_update(
            PollWorkflowExecutionUpdateRequest(
                namespace=temporal.namespace,
                update_ref=UpdateRef(
                    workflow_execution=WorkflowExecution(workflow_id=workflow_id_for(customer)),
                    update_id=update_id_for(action),
                ),
                wait_policy=WaitPolicy(
                    lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
                ),
            ),
            timeout=timedelta(seconds=1),
        )
    except RPCError:
        return False
    return True


ACCEPTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
COMPLETED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED


async def runs_with_the_update(
    temporal: Client, customer: str, action: Action
) -> dict[str, list[EventType.ValueType]]:
    """For every run of the application, the update events of ``action``."""
    workflow_id = workflow_id_for(customer)
    found = {}
    async for execution in temporal.list_workflows(f"WorkflowId = '{workflow_id}'"):
        handle = temporal.get_workflow_handle(workflow_id, run_id=execution.run_id)
        kinds = []
        async for event in handle.fetch_history_events():
            accepted = event.workflow_execution_update_accepted_event_attributes
            if accepted.accepted_request.meta.update_id == update_id_for(action):
                kinds.append(event.event_type)
            completed = event.workflow_execution_update_completed_event_attributes
            if completed.meta.update_id == update_id_for(action):
                kinds.append(event.event_type)
        found[execution.run_id] = kinds
    return found


async def test_an_action_sent_while_the_run_hands_over_is_answered_once_with_its_effect(
    stage: Stage,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    lower_history_bound: Callable[[int], None],
) -> None:
    parties = ledger.direct(card=True)
    submitted = await stage.client.apply(
        customer_uin=parties.customer, initiator_uin=parties.reseller, notice_acknowledged=True
    )
    assert submitted.status is S.PENDING_CUSTOMER_CONFIRMATION, submitted
    handle = await hand_over_now(stage, parties, lower_history_bound)
    first_run = (await handle.describe()).run_id

    confirm = action_of_kind("confirm", actor=parties.customer)
    answering = asyncio.create_task(stage.client.act(parties.customer, confirm))
    await eventually(
        lambda: admitted(stage.temporal, parties.customer, confirm), lambda found: found
    )
    assert await admitted(stage.temporal, parties.customer, confirm)
    stage.hand_over.gate.release()
    answer = await answering

    assert answer.accepted and answer.status is S.COMPLETED, answer
    result = await handle.result()
    assert result.status is S.COMPLETED and result.runs == 2, result
    # The run it was sent to continued without it; the next one took it.
    latest = (await handle.describe()).run_id
    assert await runs_with_the_update(stage.temporal, parties.customer, confirm) == {
        first_run: [],
        latest: [ACCEPTED, COMPLETED],
    }
    assert [e.action_id for e in result.timeline if e.accepted] == [confirm.action_id]
    assert_inbox(
        partner_center, parties.reseller, {"submitted", "customer_decision:confirmed", "completed"}
    )
    assert_inbox(partner_center, parties.customer, {"confirmation_requested", "completed"})
    assert len(partner_center.records(parties.customer)) == 1


async def test_an_action_sent_while_the_run_hands_over_is_answered_once_the_application_was_stopped(
    stage: Stage,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    lower_history_bound: Callable[[int], None],
) -> None:
    """The operator terminated the application meanwhile: the action is answered
    at once as refused ("already ended"), not left to the caller to retry."""
    parties = ledger.direct(card=True)
    await stage.client.apply(
        customer_uin=parties.customer, initiator_uin=parties.reseller, notice_acknowledged=True
    )
    handle = await hand_over_now(stage, parties, lower_history_bound)

    confirm = action_of_kind("confirm", actor=parties.customer)
    answering = asyncio.create_task(stage.client.act(parties.customer, confirm))
    await eventually(
        lambda: admitted(stage.temporal, parties.customer, confirm), lambda found: found
    )
    await handle.terminate(reason="pressed by mistake")
    stage.hand_over.gate.release()
    answer = await answering

    assert not answer.accepted and answer.status is S.PENDING_CUSTOMER_CONFIRMATION, answer
    assert answer.reason is not None and "already ended" in answer.reason, answer


async def test_an_update_in_flight_when_the_run_hands_over_is_answered_first(
    stage: Stage,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    lower_history_bound: Callable[[int], None],
) -> None:
    """A card claim's update waits for the story to verify the card; the
    history grew long meanwhile. The run answers the claim, and only then
    continues as new: the answer is in the run that handed over, not lost."""
    parties = ledger.direct(card=False)
    await stage.client.apply(
        customer_uin=parties.customer, initiator_uin=parties.reseller, notice_acknowledged=True
    )
    confirmed = await stage.client.confirm(parties.customer, actor=parties.customer)
    assert confirmed.status is S.PENDING_CARD_BINDING, confirmed
    handle = stage.temporal.get_workflow_handle_for(
        UnbindingWorkflow.run, workflow_id_for(parties.customer)
    )
    first_run = (await handle.describe()).run_id
    verifying = stage.gated.hold("check_card")
    claim = action_of_kind("card_bound", actor=parties.customer)
    answering = asyncio.create_task(stage.client.act(parties.customer, claim))
    await verifying.entered()
    lower_history_bound(await history_length(handle))
    verifying.release()

    answer = await answering

    assert not answer.accepted and answer.status is S.PENDING_CARD_BINDING, answer
    assert answer.reason == "no card is bound in the partner center"
    state = await eventually(lambda: handle.query(UnbindingWorkflow.status), lambda s: s.runs == 2)
    assert state.runs == 2 and state.status is S.PENDING_CARD_BINDING, state
    assert (await runs_with_the_update(stage.temporal, parties.customer, claim))[first_run] == [
        ACCEPTED,
        COMPLETED,
    ]
    # The continued run goes on from there, and its claim is verified once.
    partner_center.set_account(parties.customer, card_bound=True)
    bound = await stage.client.card_bound(parties.customer, actor=parties.customer)
    assert bound.accepted and bound.status is S.COMPLETED, bound
    await handle.result()  # the answer comes once decided; the ending message after it
    assert_inbox(
        partner_center,
        parties.customer,
        {"confirmation_requested", "card_binding_requested", "completed"},
    )
