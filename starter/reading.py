"""Reading applications: one customer's state and run, and the list view.

What the client API answers with is here too: :class:`StatusReport`,
:class:`ApplicationSummary` and :class:`RunReport`.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from temporalio.client import (
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError

from starter.calls import TemporalCalls, no_such_workflow
from starter.errors import Refused
from starter.inputs import customer_ref, validated
from workflows.contract import APPLICATIONS_LISTED, workflow_id_for
from workflows.fields import Uin
from workflows.model import UnbindingState, UnbindStatus
from workflows.search_attributes import (
    CUSTOMER_UIN,
    DISTRIBUTOR_UIN,
    RESELLER_UIN,
    UNBIND_DEADLINE,
    UNBIND_STATUS,
)
from workflows.unbinding import UnbindingWorkflow


class ApplicationSummary(BaseModel):
    """One row of ``list``: what the search attributes say about an application."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    status: UnbindStatus | None
    customer_uin: str | None
    reseller_uin: str | None
    distributor_uin: str | None
    deadline: datetime | None
    execution_status: str | None = None
    """Temporal's view of the run: RUNNING, COMPLETED, TERMINATED, ..."""
    started_at: datetime | None = None


def summary_of(execution: WorkflowExecution) -> ApplicationSummary:
    """What one row of the list view says about an application."""
    attributes = execution.typed_search_attributes
    raw_status = attributes.get(UNBIND_STATUS)
    return ApplicationSummary(
        workflow_id=execution.id,
        status=UnbindStatus(raw_status) if raw_status else None,
        customer_uin=attributes.get(CUSTOMER_UIN),
        reseller_uin=attributes.get(RESELLER_UIN),
        distributor_uin=attributes.get(DISTRIBUTOR_UIN),
        deadline=attributes.get(UNBIND_DEADLINE),
        execution_status=execution.status.name if execution.status else None,
        started_at=execution.start_time,
    )


class StatusReport(BaseModel):
    """An application's state with Temporal's view of its latest run."""

    model_config = ConfigDict(frozen=True)

    state: UnbindingState
    execution_status: str
    """RUNNING, COMPLETED, or TERMINATED/FAILED/TIMED_OUT for a hard stop."""
    run_id: str


class RunReport(BaseModel):
    """One workflow run of an application, as Temporal describes it."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    run_id: str
    application_id: str
    execution_status: str
    """RUNNING, COMPLETED, CONTINUED_AS_NEW, or TERMINATED/FAILED/TIMED_OUT
    for a run that stopped without the workflow closing its record."""
    closed_at: datetime | None


class _ListFilter(BaseModel):
    status: UnbindStatus | None = None
    reseller_uin: Uin | None = None
    distributor_uin: Uin | None = None


_LIST_OPTIONS = {
    "status": "--status",
    "reseller_uin": "--reseller",
    "distributor_uin": "--distributor",
}


def _list_query(selection: _ListFilter) -> str:
    # Values are validated (enum, UIN digits), so quoting them cannot break out.
    clauses = [APPLICATIONS_LISTED]
    if selection.status is not None:
        clauses.append(f"{UNBIND_STATUS.name} = '{selection.status.value}'")
    if selection.reseller_uin is not None:
        clauses.append(f"{RESELLER_UIN.name} = '{selection.reseller_uin}'")
    if selection.distributor_uin is not None:
        clauses.append(f"{DISTRIBUTOR_UIN.name} = '{selection.distributor_uin}'")
    return " AND ".join(clauses)


class ApplicationReader(TemporalCalls):
    """The reading half of :class:`~starter.client.UnbindingClient`."""

    async def status(self, customer_uin: str) -> UnbindingState:
        """The full state of the customer's latest application, open or ended."""
        return (await self.report(customer_uin)).state

    async def report(self, customer_uin: str) -> StatusReport:
        """:meth:`status` plus Temporal's view of the run, which tells apart an
        application that ended by itself from one an operator terminated (its
        state is then as of the termination)."""
        customer = customer_ref(customer_uin)
        workflow_id = workflow_id_for(customer)
        with self._temporal_errors():
            try:
                description = await self._client.get_workflow_handle(workflow_id).describe()
            except RPCError as error:
                if no_such_workflow(error):
                    raise Refused(f"no application for customer {customer}") from None
                raise
            run = description.status.name if description.status else "UNKNOWN"
            state = await self._state_of(workflow_id, description.run_id, description.status)
            return StatusReport(state=state, execution_status=run, run_id=description.run_id)

    async def state_of_run(self, workflow_id: str, run_id: str) -> UnbindingState:
        """The state of one run (of an application, or an earlier one of its customer)."""
        with self._temporal_errors():
            handle = self._client.get_workflow_handle(workflow_id, run_id=run_id)
            description = await handle.describe()
            return await self._state_of(workflow_id, run_id, description.status)

    async def _state_of(
        self, workflow_id: str, run_id: str, status: WorkflowExecutionStatus | None
    ) -> UnbindingState:
        """A completed run's result, else what its ``status`` query answers."""
        handle: WorkflowHandle[Any, UnbindingState] = self._client.get_workflow_handle_for(
            UnbindingWorkflow.run, workflow_id, run_id=run_id
        )
        if status == WorkflowExecutionStatus.COMPLETED:
            return await handle.result(follow_runs=False)
        try:
            return await self._answer(
                handle.query(UnbindingWorkflow.status),
                waiting_for=f"the status of {workflow_id}",
            )
        except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as error:
            run = status.name if status else "UNKNOWN"
            raise Refused(
                f"application {workflow_id} ({run}) cannot report its state: {error}"
            ) from None

    async def list(
        self,
        *,
        status: UnbindStatus | str | None = None,
        reseller_uin: str | None = None,
        distributor_uin: str | None = None,
        limit: int | None = None,
    ) -> builtins.list[ApplicationSummary]:
        """Applications matching the filters, newest first, from the search
        attributes (visibility is eventually consistent: a change may take a
        moment to show)."""
        selection = validated(
            _ListFilter,
            {"status": status, "reseller_uin": reseller_uin, "distributor_uin": distributor_uin},
            options=_LIST_OPTIONS,
        )
        summaries = []
        with self._temporal_errors():
            async for execution in self._client.list_workflows(_list_query(selection), limit=limit):
                summaries.append(summary_of(execution))
        return summaries

    async def run_of_application(self, customer_uin: str, application_id: str) -> RunReport | None:
        """The newest run of one application of the customer, as Temporal
        describes it now (an application continued as new has several runs;
        later applications of the same customer reuse the workflow id). None
        when the list view knows no run of it (it may lag a moment behind)."""
        workflow_id = workflow_id_for(customer_ref(customer_uin))
        with self._temporal_errors():
            runs = [
                execution
                async for execution in self._client.list_workflows(
                    # The id is built from a validated UIN: nothing to escape.
                    f"WorkflowId = '{workflow_id}'"
                )
            ]
            runs.sort(key=lambda execution: execution.start_time, reverse=True)
            for execution in runs:
                handle = self._client.get_workflow_handle(workflow_id, run_id=execution.run_id)
                if await self._application_id_of(handle) != application_id:
                    continue
                description = await handle.describe()
                return RunReport(
                    workflow_id=workflow_id,
                    run_id=execution.run_id,
                    application_id=application_id,
                    execution_status=description.status.name if description.status else "UNKNOWN",
                    closed_at=description.close_time,
                )
        return None

    async def _application_id_of(self, handle: WorkflowHandle[Any, Any]) -> str | None:
        """The application a run serves, from its start event's input."""
        async for event in handle.fetch_history_events():
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            if not payloads:
                return None
            [started_with] = await self._client.data_converter.decode(payloads[:1], [dict])
            application_id = started_with.get("application_id")
            return application_id if isinstance(application_id, str) else None
        return None
