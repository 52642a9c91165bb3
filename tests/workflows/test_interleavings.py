"""Interleavings of people's actions with the workflow's own work, made certain
on the dev server: an activity held at a gate until the test releases it
(``tests/workflows/gates.py``), or messages sent while no worker runs so that
they reach the workflow in one task.

Everything is observed from outside, as a caller would: ``UnbindingClient``, a
raw Temporal client sending updates and signals by name, the ``status`` query,
the workflow's result and the partner center's rows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from tests.conftest import Ledger, Parties, eventually, running_worker
from tests.workflows.gates import GatedPartnerCenter
from workflows.contract import ACTION_REFUSED, workflow_id_for
from workflows.model import (
    Action,
    ActionResult,
    CardBoundAction,
    ConfirmAction,
    Deadlines,
    SubmissionResult,
    TimelineEntry,
    UnbindingState,
    UnbindStatus,
    WithdrawAction,
)

pytestmark = pytest.mark.integration
S = UnbindStatus
ADMITTED = UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED

CLOSES_WITHIN = 20.0
"""Seconds an application gets to close once its ending was decided."""


@pytest.fixture
def client(dev_env: WorkflowEnvironment, gated_run: Worker) -> UnbindingClient:
    return UnbindingClient(dev_env.client, task_queue=gated_run.task_queue)


def application(client: Client, customer: str) -> WorkflowHandle[Any, UnbindingState]:
    return client.get_workflow_handle(workflow_id_for(customer), result_type=UnbindingState)


async def apply(
    client: UnbindingClient, parties: Parties, deadlines: Deadlines | None = None
) -> SubmissionResult:
    return await client.apply(
        customer_uin=parties.customer,
        initiator_uin=parties.reseller,
        notice_acknowledged=True,
        deadlines=deadlines,
    )


async def closes(handle: WorkflowHandle[Any, UnbindingState]) -> UnbindingState:
    """The run's result, or a failure saying the run is still open."""
    result = asyncio.ensure_future(handle.result())
    done, _ = await asyncio.wait({result}, timeout=CLOSES_WITHIN)
    if result in done:
        return result.result()
    result.cancel()
    description = await handle.describe()
    state = await handle.query("status", result_type=UnbindingState)
    status = description.status.name if description.status else "UNKNOWN"
    raise AssertionError(
        f"the run never closed: execution {status} {CLOSES_WITHIN}s later, "
        f"application status {state.status}"
    )


async def answered(
    update: Awaitable[ActionResult], handle: WorkflowHandle[Any, Any]
) -> ActionResult:
    """An update's answer; a refusal by the validator counts as ``accepted=False``."""
    try:
        return await asyncio.wait_for(update, CLOSES_WITHIN)
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        if not (isinstance(cause, ApplicationError) and cause.type == ACTION_REFUSED):
            raise
        state = await handle.query("status", result_type=UnbindingState)
        return ActionResult(accepted=False, status=state.status, reason=cause.message)


async def admit(
    client: Client, handle: WorkflowHandle[Any, Any], action: Action
) -> asyncio.Task[ActionResult]:
    """Send ``action`` as an update while no worker runs, and return once the
    server holds it (the SDK's own calls wait for a worker to accept it)."""
    answer = asyncio.create_task(
        handle.execute_update(
            action.kind.value, action, id=action.action_id, result_type=ActionResult
        )
    )

    async def stage() -> int:
        try:
            polled = await client.workflow_service.poll_workflow_execution_update(
                PollWorkflowExecutionUpdateRequest(
                    namespace=client.namespace,
                    update_ref=UpdateRef(
                        workflow_execution=WorkflowExecution(workflow_id=handle.id),
                        update_id=action.action_id,
                    ),
                    identity="interleavings-test",
                    wait_policy=WaitPolicy(lifecycle_stage=ADMITTED),
                )
            )
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            return 0
        return int(polled.stage)

    held = await eventually(stage, lambda reached: reached >= ADMITTED)
    assert held >= ADMITTED, f"the server never held the {action.kind} update"
    return answer


def entries(state: UnbindingState, action_id: str) -> list[TimelineEntry]:
    return [entry for entry in state.timeline if entry.action_id == action_id]


async def processed(client: UnbindingClient, parties: Parties) -> UnbindingState:
    """Send a probe signal (a wrong party's confirm, always refused) and return
    the state once the workflow has logged it: every signal sent before it
    has been handled by then."""
    probe = ConfirmAction(action_id=f"probe-{uuid.uuid4().hex}", actor=parties.reseller)
    await client.signal(parties.customer, probe)
    state = await eventually(
        lambda: client.status(parties.customer), lambda s: bool(entries(s, probe.action_id))
    )
    assert entries(state, probe.action_id), "the probe signal was never handled"
    return state


def still_bound(pc: SqlPartnerCenter, parties: Parties) -> bool:
    partner = pc.show(parties.customer)["partner"]
    return partner is not None and partner["uin"] == parties.reseller


async def waiting_for_the_card(client: UnbindingClient, parties: Parties) -> None:
    """``parties`` apply and the customer confirms with no card on file: it waits for one."""
    assert (await apply(client, parties)).status is S.PENDING_CUSTOMER_CONFIRMATION
    confirmed = await client.confirm(parties.customer, actor=parties.customer)
    assert confirmed.status is S.PENDING_CARD_BINDING, confirmed


async def refused_for_the_card(
    client: UnbindingClient, pc: SqlPartnerCenter, parties: Parties
) -> UnbindingState:
    """The application's state, which names the card among its failed checks; the
    customer is still bound to the reseller."""
    state = await client.status(parties.customer)
    assert "card" in [str(check.check) for check in state.failed_checks], state.failed_checks
    assert still_bound(pc, parties), "cut over without a card"
    return state


# ---- 1. a run that never closes ------------------------------------------------


async def test_an_operator_cancel_while_the_card_is_being_verified_closes_the_run(
    dev_env: WorkflowEnvironment,
    gated: GatedPartnerCenter,
    ledger: Ledger,
    client: UnbindingClient,
) -> None:
    parties = ledger.direct(card=False)
    await waiting_for_the_card(client, parties)
    gated.inner.set_account(parties.customer, card_bound=True)
    handle = application(dev_env.client, parties.customer)

    verifying = gated.hold("check_card")
    claim = asyncio.create_task(client.card_bound(parties.customer, actor=parties.customer))
    try:
        await verifying.entered()
        await handle.cancel()
        # The cancel is handled while the partner center has not answered yet.
        await eventually(lambda: client.status(parties.customer), lambda s: s.status is S.CANCELLED)
        verifying.release()

        outcome = await closes(handle)
        assert outcome.status is S.CANCELLED
        answer = await asyncio.wait_for(claim, CLOSES_WITHIN)
        assert answer.status is S.CANCELLED, answer
        again = await apply(client, parties)
        assert again.accepted, again
    finally:
        claim.cancel()


async def test_a_withdrawal_landing_with_a_card_claim_closes_the_run(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    executor: ThreadPoolExecutor,
) -> None:
    task_queue = f"tq-{uuid.uuid4().hex}"
    client = UnbindingClient(dev_env.client, task_queue=task_queue)
    parties = ledger.direct(card=False)
    async with running_worker(dev_env.client, partner_center, executor, task_queue=task_queue):
        await waiting_for_the_card(client, parties)
    partner_center.set_account(parties.customer, card_bound=True)

    # No worker runs: the server holds both, and the next workflow task carries
    # the customer's card claim and the initiator's withdrawal together.
    handle = application(dev_env.client, parties.customer)
    claim = CardBoundAction(action_id=uuid.uuid4().hex, actor=parties.customer)
    withdrawal = WithdrawAction(action_id=uuid.uuid4().hex, actor=parties.reseller)
    answers = [
        await admit(dev_env.client, handle, claim),
        await admit(dev_env.client, handle, withdrawal),
    ]
    try:
        async with running_worker(dev_env.client, partner_center, executor, task_queue=task_queue):
            outcome = await closes(handle)
            assert outcome.status is S.WITHDRAWN
            for action, answer in zip((claim, withdrawal), answers, strict=True):
                result = await asyncio.wait_for(answer, CLOSES_WITHIN)
                assert result.status is S.WITHDRAWN, (action.kind, result)
            again = await apply(client, parties)
            assert again.accepted, again
    finally:
        for answer in answers:
            answer.cancel()


# ---- 3. the card is read once -----------------------------------------------------


@pytest_asyncio.fixture
async def applied_with_card(ledger: Ledger, client: UnbindingClient) -> Parties:
    """A direct customer with a card on file, whose application waits for the
    customer to confirm."""
    parties = ledger.direct(card=True)
    assert (await apply(client, parties)).status is S.PENDING_CUSTOMER_CONFIRMATION
    return parties


async def test_a_card_removed_before_the_customer_confirms_is_asked_for_again(
    gated: GatedPartnerCenter, client: UnbindingClient, applied_with_card: Parties
) -> None:
    parties = applied_with_card
    gated.inner.set_account(parties.customer, card_bound=False)

    answer = await client.confirm(parties.customer, actor=parties.customer)

    assert answer.accepted, answer
    assert answer.status is S.PENDING_CARD_BINDING, answer
    assert still_bound(gated.inner, parties), "cut over without a card"


async def test_a_card_removed_after_it_was_verified_fails_the_final_check(
    gated: GatedPartnerCenter, ledger: Ledger, client: UnbindingClient
) -> None:
    parties = ledger.direct(card=False)
    await waiting_for_the_card(client, parties)
    gated.inner.set_account(parties.customer, card_bound=True)

    final_check = gated.hold("check_account")
    claim = asyncio.create_task(client.card_bound(parties.customer, actor=parties.customer))
    try:
        await final_check.entered()
        # Verified by check_card; removed before the final check reads the account.
        gated.inner.set_account(parties.customer, card_bound=False)
        final_check.release()
        answer = await asyncio.wait_for(claim, CLOSES_WITHIN)
    finally:
        claim.cancel()

    state = await refused_for_the_card(client, gated.inner, parties)
    assert state.status is S.AWAITING_REMEDIATION, (answer, state.status)


async def test_a_card_removed_while_awaiting_remediation_fails_the_recheck(
    gated: GatedPartnerCenter, client: UnbindingClient, applied_with_card: Parties
) -> None:
    parties = applied_with_card
    gated.inner.set_account(parties.customer, frozen=True)
    confirmed = await client.confirm(parties.customer, actor=parties.customer)
    assert confirmed.status is S.AWAITING_REMEDIATION, confirmed

    # The initiator fixes what failed, but the customer's card is gone meanwhile.
    gated.inner.set_account(parties.customer, frozen=False, card_bound=False)
    answer = await client.recheck(parties.customer, actor=parties.reseller)

    assert answer.status is S.AWAITING_REMEDIATION, answer
    await refused_for_the_card(client, gated.inner, parties)


# ---- 4. action ids are scoped to one action -----------------------------------------


async def confirmed_with(client: UnbindingClient, parties: Parties, action_id: str) -> None:
    """The customer confirms with ``action_id``: the application waits for a card."""
    await apply(client, parties)
    confirmed = await client.confirm(parties.customer, actor=parties.customer, action_id=action_id)
    assert confirmed.accepted and confirmed.status is S.PENDING_CARD_BINDING, confirmed


def refused_as_reused(answer: ActionResult) -> None:
    assert not answer.accepted, answer
    assert answer.reason is not None and "used" in answer.reason, answer


async def test_an_id_reused_by_another_party_for_another_action_is_refused_as_a_raw_update(
    dev_env: WorkflowEnvironment, ledger: Ledger, client: UnbindingClient
) -> None:
    parties = ledger.direct(card=False)
    shared_id = uuid.uuid4().hex
    await confirmed_with(client, parties, shared_id)
    handle = application(dev_env.client, parties.customer)

    # A raw client, with an update id of its own.
    answer = await answered(
        handle.execute_update(
            "withdraw",
            WithdrawAction(action_id=shared_id, actor=parties.reseller),
            id=uuid.uuid4().hex,
            result_type=ActionResult,
        ),
        handle,
    )

    refused_as_reused(answer)
    assert (await client.status(parties.customer)).status is S.PENDING_CARD_BINDING


async def test_an_id_reused_by_another_party_for_another_action_is_refused_by_the_client(
    ledger: Ledger, client: UnbindingClient
) -> None:
    """``UnbindingClient`` sends the action id as the update id; the server
    must not answer another party's action from the completed one."""
    parties = ledger.direct(card=False)
    shared_id = uuid.uuid4().hex
    await confirmed_with(client, parties, shared_id)

    answer = await client.withdraw(parties.customer, actor=parties.reseller, action_id=shared_id)

    refused_as_reused(answer)
    assert (await client.status(parties.customer)).status is S.PENDING_CARD_BINDING


async def test_an_id_reused_by_another_party_for_another_action_is_refused_as_a_signal(
    ledger: Ledger, client: UnbindingClient
) -> None:
    parties = ledger.direct(card=False)
    shared_id = uuid.uuid4().hex
    await confirmed_with(client, parties, shared_id)

    await client.signal(
        parties.customer, WithdrawAction(action_id=shared_id, actor=parties.reseller)
    )
    state = await processed(client, parties)

    assert state.status is S.PENDING_CARD_BINDING
    withdrawals = [e for e in entries(state, shared_id) if e.action == "withdraw"]
    assert len(withdrawals) == 1, f"no timeline entry for the reused id: {state.timeline}"
    [refused] = withdrawals
    assert refused.actor == parties.reseller and not refused.accepted, refused
    assert refused.reason is not None and "used" in refused.reason, refused


async def confirmed_by_the_wrong_party(
    client: UnbindingClient, ledger: Ledger
) -> tuple[Parties, str]:
    """A new application, and the reseller's confirmation signalled under a new
    action id (to be refused): the parties and that id."""
    parties = ledger.direct(card=False)
    await apply(client, parties)
    shared_id = uuid.uuid4().hex
    await client.signal(
        parties.customer, ConfirmAction(action_id=shared_id, actor=parties.reseller)
    )
    return parties, shared_id


async def test_a_wrong_partys_refused_signal_does_not_preempt_the_genuine_update(
    ledger: Ledger, client: UnbindingClient
) -> None:
    parties, shared_id = await confirmed_by_the_wrong_party(client, ledger)
    state = await processed(client, parties)
    [refused] = entries(state, shared_id)
    assert not refused.accepted, refused

    answer = await client.confirm(parties.customer, actor=parties.customer, action_id=shared_id)

    assert answer.accepted, answer
    assert answer.status is S.PENDING_CARD_BINDING, answer


async def test_a_wrong_partys_refused_signal_does_not_preempt_the_genuine_signal(
    ledger: Ledger, client: UnbindingClient
) -> None:
    parties, shared_id = await confirmed_by_the_wrong_party(client, ledger)
    await client.signal(
        parties.customer, ConfirmAction(action_id=shared_id, actor=parties.customer)
    )
    state = await processed(client, parties)

    genuine = [e for e in entries(state, shared_id) if e.actor == parties.customer]
    assert [e.accepted for e in genuine] == [True], f"genuine confirm not taken: {state.timeline}"
    state = await eventually(
        lambda: client.status(parties.customer), lambda s: s.status is S.PENDING_CARD_BINDING
    )
    assert state.status is S.PENDING_CARD_BINDING


async def test_a_true_repeat_gets_the_first_answer_and_has_no_second_effect(
    dev_env: WorkflowEnvironment,
    gated: GatedPartnerCenter,
    ledger: Ledger,
    client: UnbindingClient,
) -> None:
    """A guard: this holds today and must keep holding."""
    parties = ledger.direct(card=False)
    await apply(client, parties)
    action = ConfirmAction(action_id=uuid.uuid4().hex, actor=parties.customer)
    handle = application(dev_env.client, parties.customer)

    first = await client.act(parties.customer, action)
    again = await client.act(parties.customer, action)
    raw = await answered(
        handle.execute_update("confirm", action, id=uuid.uuid4().hex, result_type=ActionResult),
        handle,
    )
    await client.signal(parties.customer, action)
    state = await processed(client, parties)

    assert first.accepted and first.status is S.PENDING_CARD_BINDING, first
    assert again == first
    assert raw.accepted and raw.reason is None, raw
    assert [e.accepted for e in entries(state, action.action_id)] == [True], state.timeline
    decisions = [
        m
        for m in gated.inner.inbox(parties.reseller)
        if m["event"] == "customer_decision:confirmed"
    ]
    assert len(decisions) == 1, decisions


# ---- 5. an answer carries the status after the decision -------------------------------


async def test_a_confirm_accepted_while_a_reminder_is_sent_answers_with_the_new_status(
    gated: GatedPartnerCenter, ledger: Ledger, client: UnbindingClient
) -> None:
    parties = ledger.direct(card=False)
    # The shortest wait there is (1 minute), its reminder due 5 s into it.
    deadlines = Deadlines(
        customer_confirmation=timedelta(minutes=1), reminders_before=(timedelta(seconds=55),)
    )
    reminder = gated.hold("notify", when=lambda n: n.event.startswith("reminder:"))
    assert (await apply(client, parties, deadlines)).status is S.PENDING_CUSTOMER_CONFIRMATION
    await reminder.entered()

    confirm = ConfirmAction(action_id=uuid.uuid4().hex, actor=parties.customer)
    answer_task = asyncio.create_task(client.act(parties.customer, confirm))
    try:
        # The workflow has taken the confirm while the reminder is still held.
        state = await eventually(
            lambda: client.status(parties.customer),
            lambda s: any(e.accepted for e in entries(s, confirm.action_id)),
        )
        assert entries(state, confirm.action_id), "the confirm never reached the workflow"
        reminder.release()
        answer = await asyncio.wait_for(answer_task, CLOSES_WITHIN)
    finally:
        answer_task.cancel()

    assert answer.accepted, answer
    assert answer.status is S.PENDING_CARD_BINDING, answer


async def test_a_confirm_accepted_while_the_customer_is_asked_answers_with_the_new_status(
    gated: GatedPartnerCenter, ledger: Ledger, client: UnbindingClient
) -> None:
    parties = ledger.direct(card=False)
    asked = gated.hold("notify", when=lambda n: n.event == "confirmation_requested")
    submitting = asyncio.create_task(apply(client, parties))
    confirm = ConfirmAction(action_id=uuid.uuid4().hex, actor=parties.customer)
    answer_task: asyncio.Task[ActionResult] | None = None
    try:
        await asked.entered()
        answer_task = asyncio.create_task(client.act(parties.customer, confirm))
        # The workflow has taken the confirm while the request is still held.
        await eventually(
            lambda: client.status(parties.customer),
            lambda s: any(e.accepted for e in entries(s, confirm.action_id)),
        )
        asked.release()
        answer = await asyncio.wait_for(answer_task, CLOSES_WITHIN)
        await asyncio.wait_for(submitting, CLOSES_WITHIN)
    finally:
        submitting.cancel()
        if answer_task is not None:
            answer_task.cancel()

    assert answer.accepted, answer
    assert answer.status is S.PENDING_CARD_BINDING, answer
