"""A submission whose first answer is lost still gets one: the client asks the
run it started again, under the same update id, instead of leaving the caller
with "no answer" for an application that is in fact open."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient, Unreachable
from tests.conftest import Ledger, running_worker
from workflows.contract import SUBMISSION_UPDATE, workflow_id_for
from workflows.model import ApplicationInput, SubmissionResult, UnbindStatus

pytestmark = pytest.mark.integration

ANSWER_TIMEOUT = timedelta(seconds=5)
"""The first ask gives up (no worker yet: it hears so from the task queue's
pollers); the second must be answered within this by a worker that only
starts once the first gave up."""


class WatchedClient(UnbindingClient):
    """The client API, telling the test each time it asks a submission again."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked_again = asyncio.Event()
        self.asks_again = 0
        self.ask_again_when = asyncio.Event()
        """Set by the test once a worker polls, so the second ask meets it."""

    async def _ask_for_the_submission_again(
        self, application: ApplicationInput
    ) -> SubmissionResult | None:
        self.asks_again += 1
        self.asked_again.set()
        await self.ask_again_when.wait()
        return await super()._ask_for_the_submission_again(application)


def submission_updates(history: WorkflowHistory) -> list[str]:
    """The update id of every submission update the run accepted."""
    return [
        event.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        and event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        == SUBMISSION_UPDATE
    ]


async def test_a_submission_answered_late_is_asked_again_and_answered(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    executor: ThreadPoolExecutor,
) -> None:
    parties = ledger.direct()
    task_queue = f"tq-{uuid.uuid4().hex}"
    client = WatchedClient(dev_env.client, task_queue=task_queue, answer_timeout=ANSWER_TIMEOUT)

    # No worker polls yet: the first answer cannot come in time.
    submitting = asyncio.create_task(
        client.apply(
            customer_uin=parties.customer,
            initiator_uin=parties.reseller,
            notice_acknowledged=True,
        )
    )
    await asyncio.wait_for(client.asked_again.wait(), 2 * ANSWER_TIMEOUT.total_seconds())
    assert not submitting.done()
    async with running_worker(dev_env.client, partner_center, executor, task_queue=task_queue):
        client.ask_again_when.set()
        answer = await submitting
        assert answer.accepted
        assert answer.status is UnbindStatus.PENDING_CUSTOMER_CONFIRMATION
        assert client.asks_again == 1

        workflow_id = workflow_id_for(parties.customer)
        runs = [run async for run in dev_env.client.list_workflows(f"WorkflowId = '{workflow_id}'")]
        assert len(runs) == 1
        assert runs[0].status is WorkflowExecutionStatus.RUNNING
        # Asked twice under one update id, the run took the submission once.
        history = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()
        state = await client.status(parties.customer)
        assert submission_updates(history) == [
            f"submission-{state.application_id}-{state.initiator_uin}-{state.initiator_uin}"
        ]


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
