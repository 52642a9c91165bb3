"""Second-level reseller's customer through the live API: the reseller
submits, the distributor approves, the customer confirms and binds a card,
everybody watches; strangers, wrong parties and repeats get what the
contract says; every party's action arrives signed, naming its principal."""

from __future__ import annotations

import pytest

from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger, eventually, fresh_uin
from tests.starter.api.conftest import LiveApi

pytestmark = pytest.mark.integration


async def test_second_level_customer_unbound_through_the_api(
    live_api: LiveApi, ledger: Ledger, partner_center: SqlPartnerCenter
) -> None:
    api = live_api
    parties = ledger.second_level(card=False)
    customer, reseller, distributor = parties.customer, parties.reseller, parties.distributor
    assert distributor is not None
    stranger = fresh_uin()

    health = await api.http.get("/healthz")
    assert health.status_code == 200, health.text

    submitted = await api.http.post(
        "/applications",
        json={"customer_uin": customer, "acknowledge_notice": True, "reason": "contract ended"},
        headers=api.headers(reseller),
    )
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["status"] == "PENDING_DISTRIBUTOR_REVIEW"

    path = f"/applications/{customer}"
    hidden = await api.http.get(path, headers=api.headers(stranger))
    assert hidden.status_code == 404
    assert hidden.headers["content-type"].startswith("application/problem+json")

    not_theirs = await api.http.post(
        f"{path}/review", json={"approve": True}, headers=api.headers(reseller, key="r-1")
    )
    assert not_theirs.status_code == 403
    assert "distributor" in not_theirs.json()["allowed"]

    approve = api.headers(distributor, key="review-1")
    reviewed = await api.http.post(f"{path}/review", json={"approve": True}, headers=approve)
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["status"] == "PENDING_CUSTOMER_CONFIRMATION"
    again = await api.http.post(f"{path}/review", json={"approve": True}, headers=approve)
    assert again.status_code == 200 and again.json() == reviewed.json()

    too_early = await api.http.post(f"{path}/card_bound", headers=api.headers(customer, key="c-0"))
    assert too_early.status_code == 409

    confirmed = await api.http.post(f"{path}/confirm", headers=api.headers(customer, key="c-1"))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "PENDING_CARD_BINDING"

    worklist = await api.http.get("/me/worklist", headers=api.headers(customer))
    listed = await eventually(
        lambda: api.http.get("/me/worklist", headers=api.headers(customer)),
        lambda answer: any(item["actions"] == ["card_bound"] for item in answer.json()),
    )
    assert listed.status_code == 200, worklist.text

    partner_center.set_account(customer, card_bound=True)
    bound = await api.http.post(f"{path}/card_bound", headers=api.headers(customer, key="c-2"))
    assert bound.status_code == 200, bound.text

    done = await eventually(
        lambda: api.http.get(path, headers=api.headers(distributor)),
        lambda answer: answer.json()["status"] == "COMPLETED",
    )
    state = done.json()
    assert state["status"] == "COMPLETED"
    accepted = [entry for entry in state["timeline"] if entry["accepted"]]
    assert [(entry["action"], entry["principal"]) for entry in accepted] == [
        ("review", distributor),
        ("confirm", customer),
        ("card_bound", customer),
    ]

    messages = await api.http.get("/me/messages", headers=api.headers(reseller))
    assert messages.status_code == 200 and messages.json()

    listing = await eventually(
        lambda: api.http.get("/applications", headers=api.headers(reseller)),
        lambda answer: any(a["customer_uin"] == customer for a in answer.json()["applications"]),
    )
    assert [a["customer_uin"] for a in listing.json()["applications"]] == [customer]
    theirs = await api.http.get("/applications", headers=api.headers(stranger))
    assert theirs.json()["applications"] == []

    refusals = await api.http.get("/audit", headers=api.headers(operator="auditor"))
    assert refusals.status_code == 200
    assert {row["status_code"] for row in refusals.json()} >= {403, 404, 409}
    forbidden = await api.http.get("/audit", headers=api.headers(reseller))
    assert forbidden.status_code == 403
