"""Drive applications straight through the Temporal client, as the starter
does, for tests on either server (start + update: update-with-start hangs on
the time-skipping server)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowHandle

from activities.sql import SqlPartnerCenter
from tests.conftest import Parties
from workflows.actions import ACTION_TYPES
from workflows.contract import workflow_id_for
from workflows.model import (
    Action,
    ActionKind,
    ActionResult,
    ApplicationInput,
    Deadlines,
    Effective,
    Requester,
    SubmissionResult,
    UnbindingState,
    UnbindStatus,
)
from workflows.unbinding import UnbindingWorkflow

UPDATES = {
    ActionKind.RESELLER_REVIEW: UnbindingWorkflow.reseller_review_update,
    ActionKind.REVIEW: UnbindingWorkflow.review_update,
    ActionKind.CONFIRM: UnbindingWorkflow.confirm_update,
    ActionKind.REJECT: UnbindingWorkflow.reject_update,
    ActionKind.CARD_BOUND: UnbindingWorkflow.card_bound_update,
    ActionKind.WITHDRAW: UnbindingWorkflow.withdraw_update,
    ActionKind.RECHECK: UnbindingWorkflow.recheck_update,
}
SIGNALS = {
    ActionKind.RESELLER_REVIEW: UnbindingWorkflow.reseller_review_signal,
    ActionKind.REVIEW: UnbindingWorkflow.review_signal,
    ActionKind.CONFIRM: UnbindingWorkflow.confirm_signal,
    ActionKind.REJECT: UnbindingWorkflow.reject_signal,
    ActionKind.CARD_BOUND: UnbindingWorkflow.card_bound_signal,
    ActionKind.WITHDRAW: UnbindingWorkflow.withdraw_signal,
    ActionKind.RECHECK: UnbindingWorkflow.recheck_signal,
}
ACTIONS = ACTION_TYPES


async def submit(
    client: Client,
    task_queue: str,
    parties: Parties,
    *,
    deadlines: Deadlines | None = None,
    submitter: str | None = None,
    requested_by: Requester = Requester.RESELLER,
    effective: Effective = Effective.AT_ONCE,
    **notice: str,
) -> tuple[WorkflowHandle[Any, UnbindingState], SubmissionResult]:
    """Submit as the reseller, or (``requested_by=CUSTOMER``) as the customer
    itself; ``notice``: the acknowledged ``notice_version`` and ``notice_sha256``, if any."""
    initiator = parties.customer if requested_by is Requester.CUSTOMER else parties.reseller
    application = ApplicationInput(
        application_id=uuid.uuid4().hex,
        customer_uin=parties.customer,
        initiator_uin=initiator,
        submitter_uin=submitter or initiator,
        notice_acknowledged=True,
        acknowledged_at=datetime.now(UTC),
        deadlines=deadlines or Deadlines(),
        requested_by=requested_by,
        effective=effective,
        **notice,
    )
    handle = await client.start_workflow(
        UnbindingWorkflow.run,
        application,
        id=workflow_id_for(parties.customer),
        task_queue=task_queue,
    )
    return handle, await handle.execute_update(UnbindingWorkflow.submission)


def action(kind: ActionKind, actor: str, **fields: Any) -> Action:
    return ACTIONS[kind](action_id=uuid.uuid4().hex, actor=actor, **fields)


async def act(
    handle: WorkflowHandle[Any, UnbindingState], kind: ActionKind, actor: str, **fields: Any
) -> ActionResult:
    return await handle.execute_update(UPDATES[kind], action(kind, actor, **fields))  # type: ignore[arg-type]


async def status(handle: WorkflowHandle[Any, UnbindingState]) -> UnbindingState:
    return await handle.query(UnbindingWorkflow.status)


async def reach(
    client: Client,
    task_queue: str,
    ledger_pc: SqlPartnerCenter,
    parties: Parties,
    target: UnbindStatus,
    *,
    deadlines: Deadlines | None = None,
) -> WorkflowHandle[Any, UnbindingState]:
    """Submit an application for ``parties`` and act until it waits in ``target``."""
    handle, submitted = await submit(client, task_queue, parties, deadlines=deadlines)
    assert submitted.accepted, submitted
    if submitted.status is target:
        return handle
    if target is UnbindStatus.AWAITING_REMEDIATION:
        ledger_pc.set_account(parties.customer, frozen=True)
    result = await act(handle, ActionKind.CONFIRM, parties.customer)
    assert result.accepted and result.status is target, result
    return handle
