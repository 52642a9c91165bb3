"""Quotas (issue 13, item 3), end to end through the real ``unbind`` CLI on
the Temporal dev server: a customer's fourth application in three months is
refused at submission by a named check with the date the next one is allowed."""

from __future__ import annotations

from datetime import datetime

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.partner_center import months_after
from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger
from tests.integration.conftest import Unbind, accepted, apply, handle_for
from workflows.model import UnbindStatus

pytestmark = pytest.mark.integration
S = UnbindStatus


async def test_the_fourth_application_in_three_months_is_refused_with_the_next_date(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.direct()
    customer = parties.customer
    for _ in range(3):
        assert (await apply(unbind, parties)).code == 0
        await accepted(
            unbind, "reject", "--customer", customer, "--as", customer, status="CUSTOMER_REJECTED"
        )
        await handle_for(dev_env, customer).result()

    refused = await apply(unbind, parties)

    assert refused.code == 1, refused
    assert refused.data["status"] == "PRECHECK_FAILED"
    first = min(r.submitted_at for r in partner_center.records(customer))
    allowed = months_after(first, 3)
    checks = {c["check"]: c for c in refused.data["failed_checks"]}
    assert set(checks) == {"customer_quota", "pair_quota"}
    for check in checks.values():
        assert datetime.fromisoformat(check["next_allowed_at"]) == allowed
        assert f"allowed from {allowed:%Y-%m-%d %H:%M} UTC" in check["hint"]
    counted = [r for r in partner_center.records(customer) if r.status is not S.PRECHECK_FAILED]
    assert [r.status for r in counted] == [S.CUSTOMER_REJECTED] * 3
