"""The notice, checked (issue 13, item 1), end to end through the real
``unbind`` CLI on the Temporal dev server: overdue bills and active discounts
refuse the submission and fail the final check again when they come back;
incomplete account information fails the final check until it is completed."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.partner_center import HINTS
from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger
from tests.integration.conftest import Unbind, accepted, apply, handle_for
from workflows.model import CheckName, UnbindStatus

pytestmark = pytest.mark.integration
S = UnbindStatus


async def _set(unbind: Unbind, customer: str, *options: str) -> None:
    result = await unbind("ledger", "set", customer, *options)
    assert result.code == 0, result


async def test_the_notice_is_checked_at_submission_and_at_the_final_check(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.direct()
    customer = parties.customer
    await _set(unbind, customer, "--overdue-bills", "2")
    discount = ("--name", "Storage 10% off")
    assert (await unbind("ledger", "add-discount", customer, *discount)).code == 0

    refused = await apply(unbind, parties)
    assert refused.code == 1, refused
    assert refused.data["status"] == "PRECHECK_FAILED"
    assert refused.data["failed_checks"] == [
        {
            "check": "overdue_bills",
            "hint": f"{HINTS[CheckName.OVERDUE_BILLS]}: 2 overdue bills left",
        },
        {
            "check": "active_discounts",
            "hint": f"{HINTS[CheckName.ACTIVE_DISCOUNTS]}: 1 active discount left",
        },
    ]

    await _set(unbind, customer, "--overdue-bills", "0")
    assert (await unbind("ledger", "end-discount", customer, *discount)).code == 0
    assert (await apply(unbind, parties)).code == 0
    # After the acceptance a bill falls overdue and the information is found incomplete.
    await _set(unbind, customer, "--overdue-bills", "1", "--info-incomplete")
    await accepted(
        unbind, "confirm", "--customer", customer, "--as", customer, status="AWAITING_REMEDIATION"
    )
    waiting = await unbind("status", "--customer", customer)
    assert [c["check"] for c in waiting.data["failed_checks"]] == [
        "overdue_bills",
        "account_information",
    ]
    [record] = [r for r in partner_center.records(customer) if r.status is S.AWAITING_REMEDIATION]
    assert [c.check for c in record.failed_checks] == [
        CheckName.OVERDUE_BILLS,
        CheckName.ACCOUNT_INFORMATION,
    ]

    await _set(unbind, customer, "--overdue-bills", "0", "--info-complete")
    await accepted(
        unbind, "recheck", "--customer", customer, "--as", parties.reseller, status="COMPLETED"
    )
    outcome = await handle_for(dev_env, customer).result()
    assert outcome.status is S.COMPLETED
    assert outcome.failed_checks == []


async def test_ledger_set_refuses_a_negative_count_and_changes_nothing(
    partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.direct()
    bad = await unbind("ledger", "set", parties.customer, "--overdue-bills", "-1")
    assert bad.code == 2, bad
    assert bad.data["field"] == "--overdue-bills"
    assert partner_center.show(parties.customer)["overdue_bills"] == 0
