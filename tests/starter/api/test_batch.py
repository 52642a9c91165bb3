"""``POST /applications/batch`` (issue 13, item 6) on the live API: each
customer's outcome, a bad customer refused before anything is submitted, and
the same request again finds what it submitted instead of submitting twice."""

from __future__ import annotations

import pytest

from activities.sql import SqlPartnerCenter
from starter.batch import application_id_for, batch_id_for
from tests.conftest import Ledger, fresh_uin
from tests.starter.api.conftest import LiveApi

pytestmark = pytest.mark.integration


async def test_a_batch_through_the_api(
    live_api: LiveApi, ledger: Ledger, partner_center: SqlPartnerCenter
) -> None:
    api, pc = live_api, partner_center
    parties = ledger.direct()
    reseller, healthy = parties.reseller, parties.customer
    discounted = fresh_uin()
    pc.add_customer(discounted, partner_uin=reseller, card=True)
    pc.add_discount(discounted, "Storage 10% off")
    pc.add_discount(discounted, "CDN 5% off")
    body = {
        "customers": [{"customer_uin": healthy, "reason": "leaving"}, {"customer_uin": discounted}],
        "acknowledge_notice": True,
    }

    answer = await api.http.post("/applications/batch", json=body, headers=api.headers(reseller))

    assert answer.status_code == 200, answer.text
    result = answer.json()
    batch = batch_id_for(reseller, [healthy, discounted])
    assert result["batch_id"] == batch and result["complete"] is True
    first, second = result["outcomes"]
    assert (first["customer_uin"], first["outcome"], first["resumed"]) == (
        healthy,
        "accepted",
        False,
    )
    assert first["application_id"] == application_id_for(batch, healthy)
    assert second["outcome"] == "refused"
    assert [c["check"] for c in second["failed_checks"]] == ["active_discounts"]

    again = await api.http.post("/applications/batch", json=body, headers=api.headers(reseller))
    assert again.status_code == 200, again.text
    assert [(o["outcome"], o["resumed"]) for o in again.json()["outcomes"]] == [
        ("accepted", True),
        ("refused", True),
    ]
    assert len(pc.records(healthy)) == 1

    # Another reseller naming this batch's id reads back none of its answers.
    stranger = ledger.direct().reseller
    borrowed = {**body, "batch_id": batch}
    answer = await api.http.post(
        "/applications/batch", json=borrowed, headers=api.headers(stranger)
    )
    assert answer.status_code == 200, answer.text
    outcomes = answer.json()["outcomes"]
    # Refused as a stranger before anything starts: nothing of the customers is told.
    assert [(o["outcome"], o["resumed"]) for o in outcomes] == [("refused", False)] * 2, outcomes
    assert [[c["check"] for c in o["failed_checks"]] for o in outcomes] == [["relationship"]] * 2
    # No run of the stranger's hides the reseller's own from it.
    for customer, status in (
        (healthy, "PENDING_CUSTOMER_CONFIRMATION"),
        (discounted, "PRECHECK_FAILED"),
    ):
        seen = await api.http.get(f"/applications/{customer}", headers=api.headers(reseller))
        assert seen.status_code == 200, seen.text
        assert (seen.json()["initiator_uin"], seen.json()["status"]) == (reseller, status)
    assert len(pc.records(healthy)) == 1


async def test_a_bad_customer_is_named_and_nobody_is_submitted(
    live_api: LiveApi, ledger: Ledger, partner_center: SqlPartnerCenter
) -> None:
    api = live_api
    parties = ledger.direct()
    body = {
        "customers": [{"customer_uin": parties.customer}, {"customer_uin": "0123"}],
        "acknowledge_notice": True,
    }
    answer = await api.http.post(
        "/applications/batch", json=body, headers=api.headers(parties.reseller)
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [
        {
            "field": "customers[1].customer_uin",
            "rule": "must be 5-20 digits with no leading zero (got '0123')",
        }
    ]
    assert partner_center.records(parties.customer) == []

    operator = await api.http.post(
        "/applications/batch", json=body, headers=api.headers(operator="alice")
    )
    assert operator.status_code == 403
