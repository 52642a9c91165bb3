"""An application that continued as new is one row in ``unbind list``, with
its latest status: the run it continued from keeps the search attributes it
had then, and is not an application of its own. Real CLI, real dev server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.cli import Result
from tests.conftest import Ledger, eventually
from tests.integration.conftest import Unbind, apply, continued_once, handle_for, run_statuses
from workflows.contract import workflow_id_for

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
    await continued_once(handle, parties, lower_history_bound)
    workflow_id = workflow_id_for(parties.customer)
    # The list view knows both runs: the one continued from, and the running one.
    await eventually(lambda: run_statuses(dev_env, parties), lambda found: len(found) == 2)
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
