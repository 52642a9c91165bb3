"""The effective date (issue 13, item 5) end to end through the ``unbind``
CLI, on the dev server with a real worker and partner center: the parties see
the date and what changes before they confirm, and a withdrawal after the
confirmation but before the date still ends the application."""

from __future__ import annotations

import pytest

from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger
from tests.integration.conftest import Unbind, accepted, apply, message

pytestmark = pytest.mark.integration


async def test_confirmed_for_the_end_of_the_month_then_withdrawn_before_it(
    unbind: Unbind, ledger: Ledger, partner_center: SqlPartnerCenter
) -> None:
    parties = ledger.direct(card=True)
    added = await unbind("ledger", "add-discount", parties.customer, "--name", "Compute 20% off")
    assert added.code == 0 and added.data["discounts"] == ["Compute 20% off"], added
    # The notice's promise: the reseller deactivates it before applying.
    ended = await unbind("ledger", "end-discount", parties.customer, "--name", "Compute 20% off")
    assert ended.code == 0 and ended.data["discounts"] == [], ended
    assert ended.data["ended_discounts"] == ["Compute 20% off"], ended
    submitted = await apply(unbind, parties, "--effective", "end_of_month")
    assert submitted.code == 0 and submitted.data["status"] == "PENDING_CUSTOMER_CONFIRMATION"
    # The submitter sees the plan in the answer, before anyone else decides.
    assert submitted.data["plan"]["effective"] == "end_of_month"
    assert submitted.data["plan"]["discounts_ending"] == ["Compute 20% off"]

    shown = await unbind("status", "--customer", parties.customer, json=False)
    assert "effective    end_of_month (" in shown.stdout
    assert "Discounts that end at the cutover: Compute 20% off." in shown.stdout
    assert "still charged to the reseller" in shown.stdout
    state = (await unbind("status", "--customer", parties.customer)).data
    date = state["plan"]["effective_on"]
    request = message(partner_center.inbox(parties.customer), "confirmation_requested")
    assert "Compute 20% off" in request["body"]

    await accepted(
        unbind,
        "confirm",
        "--customer",
        parties.customer,
        "--as",
        parties.customer,
        status="AWAITING_EFFECTIVE_DATE",
    )
    waiting = (await unbind("status", "--customer", parties.customer)).data
    assert waiting["deadline"] == date
    [record] = partner_center.records(parties.customer)
    assert record.plan is not None and record.plan.effective_on is not None
    assert record.plan.effective_on.isoformat().replace("+00:00", "Z") == date.replace(
        "+00:00", "Z"
    )
    await accepted(
        unbind,
        "withdraw",
        "--customer",
        parties.customer,
        "--as",
        parties.reseller,
        status="WITHDRAWN",
    )
    assert partner_center.show(parties.customer)["agreement"]["state"] == "active"
