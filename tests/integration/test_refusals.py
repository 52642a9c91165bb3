"""Requests the process refuses, with exit code 1 and a reason naming the rule,
through the real ``unbind`` CLI on the Temporal dev server."""

from __future__ import annotations

import pytest

from activities.partner_center import HINTS
from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger, fresh_uin
from tests.integration.conftest import Unbind, apply
from workflows.model import CheckName, UnbindStatus

pytestmark = pytest.mark.integration
S = UnbindStatus


def hint(check: CheckName) -> dict[str, str]:
    return {"check": check.value, "hint": HINTS[check]}


async def test_failed_preconditions_are_listed_then_a_new_application_is_accepted(
    partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.direct()
    partner_center.set_account(parties.customer, frozen=True, credit_cents=-1250)

    refused = await apply(unbind, parties)
    assert refused.code == 1, refused
    assert refused.data == {
        "accepted": False,
        "workflow_id": f"unbind-{parties.customer}",
        "status": "PRECHECK_FAILED",
        "failed_checks": [hint(CheckName.ACCOUNT_FROZEN), hint(CheckName.CREDIT)],
        "plan": None,
    }
    assert partner_center.records(parties.customer) == []

    fixed = await unbind("ledger", "set", parties.customer, "--unfrozen", "--credit", "0")
    assert fixed.code == 0, fixed
    assert fixed.data["frozen"] is False
    assert float(fixed.data["credit"]) == 0

    # The closed application does not block a new one for the same customer.
    accepted = await apply(unbind, parties)
    assert accepted.code == 0, accepted
    assert accepted.data["accepted"] is True
    assert accepted.data["status"] == "PENDING_CUSTOMER_CONFIRMATION"
    [record] = partner_center.records(parties.customer)
    assert record.status is S.PENDING_CUSTOMER_CONFIRMATION


async def test_second_application_while_one_is_open_names_the_open_one(
    partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.direct()
    assert (await apply(unbind, parties)).code == 0

    duplicate = await apply(unbind, parties)
    assert duplicate.code == 1, duplicate
    assert f"unbind-{parties.customer}" in duplicate.data["error"]
    assert len(partner_center.records(parties.customer)) == 1


async def test_sub_user_of_the_reseller_may_not_apply(
    partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.direct()
    sub_user = fresh_uin()
    partner_center.add_subuser(sub_user, owner_uin=parties.reseller)

    refused = await apply(unbind, parties, "--operator", sub_user)
    assert refused.code == 1, refused
    assert refused.data["accepted"] is False
    assert refused.data["status"] == "PRECHECK_FAILED"
    assert refused.data["failed_checks"] == [hint(CheckName.ROOT_ACCOUNT)]
    assert partner_center.records(parties.customer) == []


async def test_wrong_actor_and_wrong_state_are_refused_without_history(
    ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.direct()
    customer = parties.customer
    assert (await apply(unbind, parties)).code == 0

    by_reseller = await unbind("confirm", "--customer", customer, "--as", parties.reseller)
    review = await unbind("review", "--customer", customer, "--as", parties.reseller, "--approve")
    too_soon = await unbind("card-bound", "--customer", customer, "--as", customer)
    recheck = await unbind("recheck", "--customer", customer, "--as", "operator:alice")

    for refused, rule in (
        (by_reseller, "only the customer may confirm"),
        (review, "only the customer's distributor may review"),
        (too_soon, "card_bound is not accepted while the application is "),
        (recheck, "recheck is not accepted while the application is "),
    ):
        assert refused.code == 1, refused
        assert refused.data["accepted"] is False
        assert refused.data["status"] == "PENDING_CUSTOMER_CONFIRMATION"
        assert rule in refused.data["reason"], refused.data
    assert "PENDING_CUSTOMER_CONFIRMATION" in too_soon.data["reason"]

    # An update's refusal writes no history: nothing happened to the application.
    status = await unbind("status", "--customer", customer)
    assert status.data["status"] == "PENDING_CUSTOMER_CONFIRMATION"
    assert status.data["timeline"] == []
    assert [t["status"] for t in status.data["transitions"]] == ["PENDING_CUSTOMER_CONFIRMATION"]


async def test_status_of_a_customer_without_application_is_refused(unbind: Unbind) -> None:
    unknown = fresh_uin()

    refused = await unbind("status", "--customer", unknown)

    assert refused.code == 1, refused
    assert unknown in refused.data["error"]
