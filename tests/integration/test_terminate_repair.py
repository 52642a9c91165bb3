"""An operator pressed Terminate instead of Cancel: the record stays open and
the customer cannot apply again until ``unbind close-terminated`` repairs it.
Real ``unbind`` CLI, real dev server, real partner center."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger, eventually
from tests.integration.conftest import Unbind, apply, assert_inbox, handle_for, message
from workflows.contract import workflow_id_for
from workflows.model import UnbindStatus

pytestmark = pytest.mark.integration
S = UnbindStatus
OPERATOR = "operator:alice"


async def test_a_terminated_application_is_closed_and_the_customer_may_apply_again(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.direct()
    assert (await apply(unbind, parties)).data["status"] == "PENDING_CUSTOMER_CONFIRMATION"
    repair = ("close-terminated", "--customer", parties.customer, "--as", OPERATOR)

    running = await unbind(*repair)
    assert running.code == 1, running
    assert "still running" in running.data["error"]

    await handle_for(dev_env, parties.customer).terminate(reason="pressed by mistake")
    [record] = partner_center.records(parties.customer)
    assert record.status is S.PENDING_CUSTOMER_CONFIRMATION
    blocked = await apply(unbind, parties)
    assert blocked.code == 1, blocked
    assert [c["check"] for c in blocked.data["failed_checks"]] == ["open_application"]
    # The repair finds the terminated run behind the refused one in the list view.
    query = f"WorkflowId = '{workflow_id_for(parties.customer)}'"

    async def runs() -> list[WorkflowExecutionStatus | None]:
        return [execution.status async for execution in dev_env.client.list_workflows(query)]

    await eventually(runs, lambda found: WorkflowExecutionStatus.TERMINATED in found)

    by_a_customer = await unbind(*repair[:-1], parties.customer)
    assert by_a_customer.code == 2, by_a_customer
    assert by_a_customer.data["field"] == "--as"

    repaired = await unbind(*repair, "--reason", "terminated instead of cancelled")
    assert repaired.code == 0, repaired
    [closed] = repaired.data["repairs"]
    assert closed["execution_status"] == "TERMINATED"
    assert closed["status"] == "CANCELLED"
    assert closed["closed_now"] is True
    assert closed["notified"] == 2
    [record] = [r for r in partner_center.records(parties.customer) if r.status is S.CANCELLED]
    assert record.application_id == closed["application_id"]
    assert record.deadline is None
    for party in (parties.reseller, parties.customer):
        inbox = assert_inbox(
            partner_center,
            party,
            {"submitted", "cancelled"}
            if party == parties.reseller
            else {
                "confirmation_requested",
                "cancelled",
            },
        )
        body = message(inbox, "cancelled")["body"]
        assert "ended as CANCELLED" in body
        assert OPERATOR in body and "terminated instead of cancelled" in body

    again = await unbind(*repair)
    assert again.code == 0, again
    assert again.data["repairs"] == []
    assert len(partner_center.inbox(parties.reseller)) == 2

    reapplied = await apply(unbind, parties)
    assert reapplied.code == 0, reapplied
    assert reapplied.data["status"] == "PENDING_CUSTOMER_CONFIRMATION"
