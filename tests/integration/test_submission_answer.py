"""A submission whose first answer is lost still gets one: the client asks the
run it started again, under the same update id, instead of leaving the caller
with "no answer" for an application that is in fact open."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient, Unreachable
from tests.conftest import Ledger, running_worker
from workflows.contract import workflow_id_for
from workflows.model import UnbindStatus

pytestmark = pytest.mark.integration

ANSWER_TIMEOUT = timedelta(seconds=3)
WORKER_COMES_BACK_AFTER = 4.0
"""Seconds: past the first answer's timeout, within the second ask's."""


async def test_a_submission_answered_late_is_asked_again_and_answered(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    executor: ThreadPoolExecutor,
) -> None:
    parties = ledger.direct()
    task_queue = f"tq-{uuid.uuid4().hex}"
    client = UnbindingClient(dev_env.client, task_queue=task_queue, answer_timeout=ANSWER_TIMEOUT)

    # No worker polls yet: the first answer cannot come in time.
    submitting = asyncio.create_task(
        client.apply(
            customer_uin=parties.customer,
            initiator_uin=parties.reseller,
            notice_acknowledged=True,
        )
    )
    await asyncio.sleep(WORKER_COMES_BACK_AFTER)
    async with running_worker(dev_env.client, partner_center, executor, task_queue=task_queue):
        answer = await submitting
        assert answer.accepted
        assert answer.status is UnbindStatus.PENDING_CUSTOMER_CONFIRMATION

        runs = [
            run
            async for run in dev_env.client.list_workflows(
                f"WorkflowId = '{workflow_id_for(parties.customer)}'"
            )
        ]
        assert len(runs) == 1
        assert runs[0].status is WorkflowExecutionStatus.RUNNING


async def test_a_submission_nobody_answers_says_it_may_have_started(
    dev_env: WorkflowEnvironment, ledger: Ledger
) -> None:
    parties = ledger.direct()
    client = UnbindingClient(
        dev_env.client, task_queue=f"tq-{uuid.uuid4().hex}", answer_timeout=timedelta(seconds=1)
    )

    with pytest.raises(Unreachable, match="may have started"):
        await client.apply(
            customer_uin=parties.customer, initiator_uin=parties.reseller, notice_acknowledged=True
        )
