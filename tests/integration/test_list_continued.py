"""An application that continued as new is one row in ``unbind list``, with
its latest status: the run it continued from keeps the search attributes it
had then, and is not an application of its own. Real CLI, real dev server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from tests.cli import Result
from tests.conftest import Ledger, eventually, history_length
from tests.integration.conftest import Unbind, apply, handle_for
from workflows.contract import workflow_id_for
from workflows.model import ConfirmAction
from workflows.unbinding import UnbindingWorkflow

pytestmark = pytest.mark.integration


async def test_a_continued_application_is_listed_once_as_it_is_now(
    dev_env: WorkflowEnvironment,
    ledger: Ledger,
    unbind: Unbind,
    lower_history_bound: Callable[[int], None],
) -> None:
    parties = ledger.direct(card=True)
    assert (await apply(unbind, parties)).code == 0
    handle = handle_for(dev_env, parties.customer)
    lower_history_bound(await history_length(handle))
    # Any message wakes the wait to notice the bound: a refused one changes nothing else.
    await handle.signal("confirm", ConfirmAction(action_id="noise-1", actor=parties.reseller))
    await eventually(lambda: handle.query(UnbindingWorkflow.status), lambda state: state.runs == 2)
    workflow_id = workflow_id_for(parties.customer)
    query = f"WorkflowId = '{workflow_id}'"

    async def run_statuses() -> list[WorkflowExecutionStatus | None]:
        return [execution.status async for execution in dev_env.client.list_workflows(query)]

    # The list view knows both runs: the one continued from, and the running one.
    await eventually(run_statuses, lambda found: len(found) == 2)
    confirmed = await unbind("confirm", "--customer", parties.customer, "--as", parties.customer)
    assert confirmed.code == 0, confirmed
    await handle.result()

    def rows(result: Result) -> list[dict[str, str]]:
        return [row for row in result.data if row["workflow_id"] == workflow_id]

    listed = await eventually(
        lambda: unbind("list", "--reseller", parties.reseller),
        lambda result: [row["status"] for row in rows(result)] == ["COMPLETED"],
    )
    assert [row["status"] for row in rows(listed)] == ["COMPLETED"], listed
    waiting = await unbind("list", "--status", "PENDING_CUSTOMER_CONFIRMATION")
    assert rows(waiting) == [], waiting
