"""The customer's own request (issue 13, item 4) end to end through the
``unbind`` CLI, on the dev server with a real worker and partner center."""

from __future__ import annotations

import pytest

from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger
from tests.integration.conftest import Unbind, accepted, events

pytestmark = pytest.mark.integration


async def test_the_customer_requests_the_reseller_approves_and_it_is_cut_over(
    unbind: Unbind, ledger: Ledger, partner_center: SqlPartnerCenter
) -> None:
    parties = ledger.direct(card=True)
    submitted = await unbind("request", "--customer", parties.customer, "--acknowledge-notice")
    assert submitted.code == 0, submitted
    assert submitted.data["status"] == "PENDING_RESELLER_REVIEW"

    shown = await unbind("status", "--customer", parties.customer, json=False)
    assert "requested by customer" in shown.stdout
    assert f"reseller     {parties.reseller}" in shown.stdout

    # Only the reseller reviews: the customer's own review is refused (exit 1).
    own = await unbind(
        "reseller-review", "--customer", parties.customer, "--as", parties.customer, "--approve"
    )
    assert own.code == 1 and "only the customer's reseller may review" in own.stdout + own.stderr
    await accepted(
        unbind,
        "reseller-review",
        "--customer",
        parties.customer,
        "--as",
        parties.reseller,
        "--approve",
        status="COMPLETED",
    )
    assert partner_center.show(parties.customer)["partner"] is None
    assert "reseller_review_requested" in events(partner_center.inbox(parties.reseller))
    assert "completed" in events(partner_center.inbox(parties.customer))

    # The evidence: the customer acknowledged its own request text, not the
    # reseller's notice, and the reseller decided on its review text.
    kept = (await unbind("evidence", "--customer", parties.customer)).data
    texts = {text["consent"] for text in kept["texts"].values()}
    assert texts == {"request", "reseller_review"}, kept
    did = [(event["role"], event["did"]) for event in kept["events"]]
    assert ("reseller", "approved the customer's request") in did, did


async def test_the_cli_refuses_a_choice_a_deadline_may_not_make(
    unbind: Unbind, ledger: Ledger, partner_center: SqlPartnerCenter
) -> None:
    parties = ledger.direct()
    refused = await unbind(
        "request",
        "--customer",
        parties.customer,
        "--acknowledge-notice",
        "--on-deadline",
        "customer_confirmation=approve",
    )
    assert refused.code == 2, refused
    assert refused.data == {
        "error": "--on-deadline: customer_confirmation=approve: that deadline may only expire",
        "field": "--on-deadline",
    }
    assert partner_center.records(parties.customer) == []
