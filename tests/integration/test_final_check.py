"""The final check fails after submission; the application waits for a fix and
a recheck, through the real ``unbind`` CLI on the Temporal dev server."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.partner_center import HINTS
from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger
from tests.integration.conftest import Unbind, accepted, apply, assert_inbox, handle_for
from workflows.model import CheckName, UnbindStatus

pytestmark = pytest.mark.integration
S = UnbindStatus


@pytest.mark.parametrize("fixed_recheck_by", ["initiator", "operator:alice"])
async def test_final_check_fails_until_the_account_is_fixed_and_rechecked(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    unbind: Unbind,
    fixed_recheck_by: str,
) -> None:
    parties = ledger.direct()
    customer = parties.customer
    assert (await apply(unbind, parties)).code == 0
    # The account changes after the application was accepted.
    broken = await unbind("ledger", "set", customer, "--privilege", "postpaid")
    assert broken.code == 0, broken

    await accepted(
        unbind, "confirm", "--customer", customer, "--as", customer, status="AWAITING_REMEDIATION"
    )
    waiting = await unbind("status", "--customer", customer)
    expected_failure = [
        {"check": CheckName.OVERDUE_PRIVILEGE.value, "hint": HINTS[CheckName.OVERDUE_PRIVILEGE]}
    ]
    assert waiting.data["failed_checks"] == expected_failure
    entered = datetime.fromisoformat(waiting.data["transitions"][-1]["at"])
    remediation_wait = datetime.fromisoformat(waiting.data["deadline"]) - entered
    assert remediation_wait == timedelta(days=7)
    [record] = partner_center.records(customer)
    assert record.status is S.AWAITING_REMEDIATION
    assert [c.check for c in record.failed_checks] == [CheckName.OVERDUE_PRIVILEGE]

    await accepted(
        unbind,
        "recheck",
        "--customer",
        customer,
        "--as",
        parties.reseller,
        status="AWAITING_REMEDIATION",
    )

    fixed = await unbind("ledger", "set", customer, "--privilege", "none")
    assert fixed.code == 0, fixed
    actor = parties.reseller if fixed_recheck_by == "initiator" else fixed_recheck_by
    await accepted(unbind, "recheck", "--customer", customer, "--as", actor, status="COMPLETED")
    outcome = await handle_for(dev_env, customer).result()

    assert outcome.status is S.COMPLETED
    assert outcome.failed_checks == []
    assert [(e.actor, e.action) for e in outcome.timeline if e.accepted] == [
        (customer, "confirm"),
        (parties.reseller, "recheck"),
        (actor, "recheck"),
    ]
    assert [t.status for t in outcome.transitions] == [
        S.PENDING_CUSTOMER_CONFIRMATION,
        S.FINAL_CHECK,
        S.AWAITING_REMEDIATION,
        S.FINAL_CHECK,
        S.AWAITING_REMEDIATION,
        S.FINAL_CHECK,
        S.CUTTING_OVER,
        S.COMPLETED,
    ]
    [record] = partner_center.records(customer)
    assert record.status is S.COMPLETED
    assert record.failed_checks == []
    assert record.effective_at == outcome.effective_at
    assert partner_center.show(customer)["partner"] is None
    # The same failure twice is reported to the initiator once.
    reseller_events = [m["event"] for m in partner_center.inbox(parties.reseller)]
    assert len([e for e in reseller_events if e.startswith("final_check_failed")]) == 1
    assert len(reseller_events) == len(set(reseller_events))
    assert_inbox(partner_center, customer, {"confirmation_requested", "completed"})
