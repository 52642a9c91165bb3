"""Malformed applications started raw through a plain Temporal client (the
SDK's default converter, as ``temporal workflow start`` or another team's
service would send them), on the dev server with a real worker.

Before ``UnbindingWorkflow.__init__`` validated its own input, the SDK failed
the first workflow task on such a start and retried it forever: the run sat
"running" with nothing to show. Now each run fails at once with an
``InvalidApplication`` error naming the field and the rule, having scheduled
no activity, written no row and notified no one. A well-formed application
sent the same raw way still runs as usual. A continued run is the exception:
its input is the workflow's own hand-over, so a refusal there is a bug in a
newer worker and its task is retried rather than the application failed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger, eventually
from tests.workflows.test_raw_payloads import _database_rows, _history
from workflows.contract import INVALID_APPLICATION
from workflows.model import UnbindStatus
from workflows.unbinding import UnbindingWorkflow

pytestmark = pytest.mark.integration
S = UnbindStatus

CUSTOMER, RESELLER = "20000000071", "10000000072"


def _valid() -> dict[str, Any]:
    return {
        "application_id": uuid.uuid4().hex,
        "customer_uin": CUSTOMER,
        "initiator_uin": RESELLER,
        "submitter_uin": RESELLER,
        "notice_acknowledged": True,
        "acknowledged_at": datetime.now(UTC).isoformat(),
    }


def _without(field: str) -> dict[str, Any]:
    return {k: v for k, v in _valid().items() if k != field}


# Each case: the start's arguments, and what the error must name.
MALFORMED: dict[str, tuple[list[Any], list[str]]] = {
    "no argument": ([], ["carries exactly one application, got 0"]),
    "two applications": ([_valid(), _valid()], ["carries exactly one application, got 2"]),
    "null": ([None], ["application:", "valid dictionary"]),
    "a string": (["unbind 20000000071"], ["application:", "valid dictionary"]),
    "a list": ([[_valid()]], ["application:", "valid dictionary"]),
    "empty object": ([{}], ["application_id:", "customer_uin:", "Field required"]),
    "customer missing": ([_without("customer_uin")], ["customer_uin:", "Field required"]),
    "customer a number": ([{**_valid(), "customer_uin": 20000000071}], ["customer_uin:"]),
    "customer leading zero": ([{**_valid(), "customer_uin": "02000000071"}], ["customer_uin:"]),
    "initiator in Arabic digits": (
        [{**_valid(), "initiator_uin": "\u0661\u0660\u0660\u0660\u0660\u0660"}],
        ["initiator_uin:"],
    ),
    "notice not acknowledged": (
        [{**_valid(), "notice_acknowledged": False}],
        ["notice_acknowledged:", "must be read and acknowledged"],
    ),
    "notice 'yes'": ([{**_valid(), "notice_acknowledged": "yes"}], ["notice_acknowledged:"]),
    "customer is the initiator": (
        [{**_valid(), "initiator_uin": CUSTOMER, "submitter_uin": CUSTOMER}],
        ["customer_uin and initiator_uin must differ"],
    ),
    "bad application id": ([{**_valid(), "application_id": "a b"}], ["application_id:"]),
    "acknowledged_at not a time": ([{**_valid(), "acknowledged_at": "soon"}], ["acknowledged_at:"]),
    "reason with a control character": ([{**_valid(), "reason": "ok\x1b[2J"}], ["reason:"]),
    "extra field": ([{**_valid(), "card_number": "4111111111111111"}], ["card_number:"]),
    "deadline of a year": (
        [{**_valid(), "deadlines": {"customer_confirmation": "P365D"}}],
        ["deadlines.customer_confirmation:"],
    ),
}


async def test_a_malformed_start_fails_the_run_at_once_naming_the_field(
    plain_client: Client, worker: Worker, database_url: str
) -> None:
    rows_before = _database_rows(database_url)
    for case, (args, named) in MALFORMED.items():
        handle = await plain_client.start_workflow(
            "Unbinding", args=args, id=f"raw-start-{uuid.uuid4().hex}", task_queue=worker.task_queue
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        error = failed.value.cause
        assert isinstance(error, ApplicationError), case
        assert error.type == INVALID_APPLICATION and error.non_retryable, case
        for words in named:
            assert words in error.message, (case, error.message)
        assert "4111111111111111" not in error.message, "a rejected value is echoed"
        types = await _history(handle)
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in types, case
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in types, case
        assert EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES not in types, case
        assert types[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, case
        # The caller's mistake, not a fault: the Web UI shows no stack trace.
        last = (await handle.fetch_history()).events[-1]
        assert last.workflow_execution_failed_event_attributes.failure.stack_trace == "", case
    assert _database_rows(database_url) == rows_before


async def test_a_well_formed_raw_start_runs_as_usual(
    plain_client: Client, worker: Worker, ledger: Ledger, partner_center: SqlPartnerCenter
) -> None:
    parties = ledger.direct(card=True)
    application = {**_valid(), "customer_uin": parties.customer, "initiator_uin": parties.reseller}
    application["submitter_uin"] = parties.reseller
    handle = await plain_client.start_workflow(
        "Unbinding", application, id=f"raw-start-{uuid.uuid4().hex}", task_queue=worker.task_queue
    )
    typed = worker.client.get_workflow_handle_for(UnbindingWorkflow.run, handle.id)
    submitted = await typed.execute_update(UnbindingWorkflow.submission)
    assert submitted.status is S.PENDING_CUSTOMER_CONFIRMATION
    [record] = partner_center.records(parties.customer)
    assert record.status is S.PENDING_CUSTOMER_CONFIRMATION


@workflow.defn(name="HandsOverBadly")
class HandsOverBadly:
    """Stands in for a worker whose hand-over no longer validates: it continues
    as new into an Unbinding run with an input the workflow refuses."""

    @workflow.run
    async def run(self, task_queue: str) -> None:
        application = {**_valid(), "customer_uin": "0"}
        workflow.continue_as_new(application, workflow="Unbinding", task_queue=task_queue)


async def test_a_continued_run_that_refuses_its_input_is_retried_not_failed(
    dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    helper_queue = f"hands-over-{uuid.uuid4().hex}"
    async with Worker(
        dev_env.client,
        task_queue=helper_queue,
        workflows=[HandsOverBadly],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        started = await dev_env.client.start_workflow(
            HandsOverBadly.run,
            worker.task_queue,
            id=f"raw-start-{uuid.uuid4().hex}",
            task_queue=helper_queue,
        )
        continued = dev_env.client.get_workflow_handle(started.id)  # follows the latest run

        async def failed_tasks() -> list[Any]:
            events = (await continued.fetch_history()).events
            return [e for e in events if e.HasField("workflow_task_failed_event_attributes")]

        async def task_attempt() -> int:
            description = await continued.describe()
            return int(description.raw_description.pending_workflow_task.attempt)

        # The server writes the first failure only; later attempts it counts.
        attempt = await eventually(task_attempt, lambda n: n >= 2, within=30.0)
    try:
        assert attempt >= 2, "the continued run's task was not retried"
        [failure] = await failed_tasks()
        message = failure.workflow_task_failed_event_attributes.failure.message
        assert "a continued run's invalid application" in message and "customer_uin:" in message
        description = await continued.describe()
        assert description.run_id != started.result_run_id
        assert description.status is WorkflowExecutionStatus.RUNNING
    finally:
        await continued.terminate("test over")
