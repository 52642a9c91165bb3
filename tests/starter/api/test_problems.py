"""Bad requests are answered as problems naming every bad field, before
anything reaches Temporal or the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest_asyncio

from activities.sql import SqlPartnerCenter
from starter.api.app import create_app
from starter.api.applications import SubmitBody, application_input
from starter.api.auth import Principal
from starter.api.deps import Services
from starter.api.devkeys import issue_dev_token
from starter.api.settings import ApiSettings


@pytest_asyncio.fixture
async def http(
    dev_key_dir: Path, partner_center: SqlPartnerCenter
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ApiSettings(dev_tokens_requested=True))
    # No lifespan and no Temporal client: nothing here may reach Temporal.
    app.state.services = Services(client=cast(Any, None), partner_center=partner_center)
    transport = httpx.ASGITransport(app=app)
    token = issue_dev_token(account="10000000002")
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


async def test_an_action_names_every_bad_field(
    http: httpx.AsyncClient, partner_center: SqlPartnerCenter
) -> None:
    answer = await http.post(
        "/applications/20000000001/withdraw",
        headers={"Idempotency-Key": "not a key!"},
        json={"reason": "two\nlines", "actor": "20000000001"},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    fields = {error["field"]: error["rule"] for error in answer.json()["errors"]}
    assert fields.keys() == {"Idempotency-Key", "reason", "actor"}
    assert "one line" in fields["reason"]
    assert fields["actor"] == "is not a known field"
    [refusal] = partner_center.refusals()
    assert (refusal.principal, refusal.status_code, refusal.action) == (
        "10000000002",
        422,
        "withdraw",
    )


async def test_a_review_needs_its_decision_and_a_key(http: httpx.AsyncClient) -> None:
    answer = await http.post("/applications/20000000001/review", json={})
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} == {"Idempotency-Key", "approve"}


async def test_a_submission_names_every_bad_field(http: httpx.AsyncClient) -> None:
    answer = await http.post(
        "/applications",
        json={
            "customer_uin": "0123",
            "acknowledge_notice": "yes",
            "reason": "\u200bhidden",
            "deadlines": {"remediation": -1},
        },
    )
    assert answer.status_code == 422
    fields = {e["field"] for e in answer.json()["errors"]}
    assert fields == {"customer_uin", "acknowledge_notice", "reason", "deadlines.remediation"}


async def test_a_submitter_cannot_cut_short_a_review_that_its_deadline_approves(
    http: httpx.AsyncClient,
) -> None:
    """The party reviewed would otherwise skip its reviewer: a minute's review,
    approved when it passes. Shortening one that expires costs the submitter
    alone; that stays allowed (and reaches no further than this check here)."""
    minute = 1 / (24 * 60)
    answer = await http.post(
        "/applications",
        json={
            "customer_uin": "20000000001",
            "acknowledge_notice": True,
            "requested_by": "customer",
            "deadlines": {"reseller_review": minute, "distributor_review": minute},
            "on_deadline": {"distributor_review": "approve"},
        },
    )
    assert answer.status_code == 422, answer.text
    rules = {e["field"]: e["rule"] for e in answer.json()["errors"]}
    assert rules.keys() == {"deadlines.reseller_review", "deadlines.distributor_review"}
    assert "at least the default 10 days" in rules["deadlines.reseller_review"]

    expiring = {"reseller_review": "expire", "distributor_review": "expire"}
    allowed = application_input(
        Principal(sub="20000000001"),
        SubmitBody.model_validate(
            {
                "customer_uin": "20000000001",
                "acknowledge_notice": True,
                "requested_by": "customer",
                "deadlines": {"reseller_review": minute, "distributor_review": minute},
                "on_deadline": expiring,
            }
        ),
    )
    assert allowed.deadlines.reseller_review < timedelta(minutes=2)


async def test_malformed_json_names_the_body(http: httpx.AsyncClient) -> None:
    answer = await http.post(
        "/applications", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["body"]


async def test_the_openapi_document_lists_one_route_per_action(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    # An action is a POST under an application (GET .../evidence reads one).
    actions = {
        path.rsplit("/", 1)[-1]
        for path, operations in document["paths"].items()
        if path.count("/") == 3 and "post" in operations
    }
    assert actions == {
        "reseller_review",
        "review",
        "confirm",
        "reject",
        "card_bound",
        "withdraw",
        "recheck",
    }
