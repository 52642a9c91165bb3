"""Consent as evidence through the live API (issue 13, item 2): the notice's
hash from ``GET /notice`` is what the application records; each decision is
kept with its signed principal; ``GET /applications/{customer}/evidence``
exports it to the parties and operators, as JSON or a page."""

from __future__ import annotations

import hashlib

import pytest

from tests.conftest import Ledger, eventually, fresh_uin
from tests.starter.api.conftest import LiveApi
from workflows.notice import CURRENT, Consent

pytestmark = pytest.mark.integration


async def test_the_evidence_of_an_application_through_the_api(
    live_api: LiveApi, ledger: Ledger
) -> None:
    api = live_api
    parties = ledger.direct(card=True)
    customer, reseller = parties.customer, parties.reseller

    texts = (await api.http.get("/notice", headers=api.headers(reseller))).json()
    assert texts["version"] == CURRENT.version
    for consent in Consent:
        shown = texts["texts"][consent.value]
        assert hashlib.sha256(shown["text"].encode()).hexdigest() == shown["sha256"]

    submitted = await api.http.post(
        "/applications",
        json={"customer_uin": customer, "acknowledge_notice": True},
        headers=api.headers(reseller),
    )
    assert submitted.status_code == 201, submitted.text
    confirmed = await api.http.post(
        f"/applications/{customer}/confirm", headers=api.headers(customer, key="c-1")
    )
    assert confirmed.status_code == 200, confirmed.text

    path = f"/applications/{customer}/evidence"
    answer = await eventually(
        lambda: api.http.get(path, headers=api.headers(customer)),
        lambda a: a.status_code == 200 and len(a.json()["events"]) == 2,
    )
    events = answer.json()["events"]
    assert [(e["actor"], e["did"], e["principal"], e["text_sha256"]) for e in events] == [
        (
            reseller,
            "acknowledged the unbinding notice",
            reseller,
            texts["texts"]["notice"]["sha256"],
        ),
        (customer, "confirmed the unbinding", customer, texts["texts"]["confirmation"]["sha256"]),
    ]

    page = await api.http.get(path, params={"format": "markdown"}, headers=api.headers(reseller))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/markdown")
    assert texts["texts"]["confirmation"]["sha256"] in page.text
    operator = await api.http.get(
        path, params={"format": "html"}, headers=api.headers(operator="audit")
    )
    assert operator.status_code == 200 and operator.headers["content-type"].startswith("text/html")

    stranger = await api.http.get(path, headers=api.headers(fresh_uin()))
    assert stranger.status_code == 404
