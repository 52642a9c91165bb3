"""The real thing, end to end: the Temporal dev server, a worker running in this
process against the test's SQLite partner center, and the ``unbind`` CLI run as
a real subprocess pointed at both.

The worker shares the test's event loop, so the CLI is awaited with
``asyncio.create_subprocess_exec``: a blocking ``subprocess.run`` would stall
the worker that has to answer it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from starter.devstack.environment import isolated_environment
from tests.cli import Result, run_unbind
from tests.conftest import Parties, eventually, history_length
from workflows.contract import workflow_id_for
from workflows.model import ConfirmAction, UnbindingState
from workflows.unbinding import UnbindingWorkflow

_Probed = TypeVar("_Probed")


class Unbind(Protocol):
    async def __call__(self, *args: str, json: bool = True) -> Result: ...


@pytest.fixture
def unbind(dev_env: WorkflowEnvironment, worker: Worker, database_url: str) -> Unbind:
    """Runs ``unbind <args> [--json]`` as a subprocess against this test's worker
    and database: ``await unbind("status", "--customer", uin)``."""
    env = isolated_environment(
        address=dev_env.client.service_client.config.target_host,
        task_queue=worker.task_queue,
        database_url=database_url,
    )

    async def run(*args: str, json: bool = True) -> Result:
        return await run_unbind(env, *args, json=json)

    return run


def handle_for(dev_env: WorkflowEnvironment, customer: str) -> WorkflowHandle[Any, UnbindingState]:
    """The customer's latest application, typed, for what only the client API does."""
    return dev_env.client.get_workflow_handle_for(UnbindingWorkflow.run, workflow_id_for(customer))


def events(messages: Iterable[dict[str, Any]]) -> list[str]:
    return [message["event"] for message in messages]


async def apply(unbind: Unbind, parties: Parties, *options: str) -> Result:
    """``unbind apply`` by the customer's reseller, notice acknowledged."""
    return await unbind(
        "apply",
        "--customer",
        parties.customer,
        "--initiator",
        parties.reseller,
        "--acknowledge-notice",
        *options,
    )


async def accepted(unbind: Unbind, *args: str, status: str) -> Result:
    """``unbind *args``, which exits 0 with the action accepted and the
    application at ``status``."""
    result = await unbind(*args)
    assert result.code == 0, result
    assert result.data["accepted"] is True, result
    assert result.data["status"] == status, result
    return result


async def approved_by_the_distributor(unbind: Unbind, customer: str, distributor: str) -> Result:
    """``unbind review --approve`` by the distributor, accepted: the customer is asked next."""
    return await accepted(
        unbind,
        "review",
        "--customer",
        customer,
        "--as",
        distributor,
        "--approve",
        status="PENDING_CUSTOMER_CONFIRMATION",
    )


async def listed(unbind: Unbind, *filters: str, workflow_id: str, status: str) -> dict[str, Any]:
    """The row ``unbind list <filters>`` shows for ``workflow_id`` once the list
    view has caught up with ``status``."""

    def row_of(result: Result) -> dict[str, Any] | None:
        assert result.code == 0, result
        return next((row for row in result.data if row["workflow_id"] == workflow_id), None)

    def caught_up(result: Result) -> bool:
        row = row_of(result)
        return row is not None and row["status"] == status

    result = await eventually(lambda: unbind("list", *filters), caught_up)
    row = row_of(result)
    assert row is not None and row["status"] == status, (filters, result.data)
    return row


def assert_inbox(pc: SqlPartnerCenter, uin: str, expected: set[str]) -> list[dict[str, Any]]:
    """The account got exactly one message for each expected event, and no other."""
    messages = pc.inbox(uin)
    received = events(messages)
    assert len(received) == len(set(received)), f"duplicate messages for {uin}: {received}"
    assert set(received) == expected, f"inbox of {uin}"
    return messages


def message(messages: Iterable[dict[str, Any]], event: str) -> dict[str, Any]:
    [found] = [m for m in messages if m["event"] == event]
    return found


async def run_statuses(
    dev_env: WorkflowEnvironment, parties: Parties
) -> list[WorkflowExecutionStatus | None]:
    """Every run of the customer's workflow id the list view knows, by status."""
    query = f"WorkflowId = '{workflow_id_for(parties.customer)}'"
    return [execution.status async for execution in dev_env.client.list_workflows(query)]


async def continued_once(
    handle: WorkflowHandle[Any, UnbindingState],
    parties: Parties,
    lower_history_bound: Callable[[int], None],
) -> UnbindingState:
    """The waiting application continues as new once: its first run is past
    the lowered bound, a fresh run far below it. Its state in the second run."""
    lower_history_bound(await history_length(handle))
    # Any message wakes the wait to notice the bound: a refused one changes nothing else.
    await handle.signal("confirm", ConfirmAction(action_id="noise-1", actor=parties.reseller))
    return await eventually(
        lambda: handle.query(UnbindingWorkflow.status), lambda state: state.runs == 2
    )
