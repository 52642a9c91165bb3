"""Consent as evidence (issue 13, item 2), end to end through the real
``unbind`` CLI on the Temporal dev server: the submitter's acknowledged notice
and each party's decision are recorded with the hash of the text shown, and
``unbind evidence`` exports them from the database alone, with Temporal out of
reach, as JSON an auditor can check and as a readable page."""

from __future__ import annotations

import hashlib

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from starter.devstack.environment import isolated_environment
from tests.cli import run_unbind
from tests.conftest import Ledger
from tests.integration.conftest import (
    Unbind,
    accepted,
    apply,
    approved_by_the_distributor,
    handle_for,
)
from workflows.notice import CURRENT, Consent

pytestmark = pytest.mark.integration


async def test_every_consent_is_kept_and_exported_without_temporal(
    dev_env: WorkflowEnvironment,
    worker: Worker,
    database_url: str,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    unbind: Unbind,
) -> None:
    parties = ledger.second_level(card=True)
    customer, reseller, distributor = parties.customer, parties.reseller, parties.distributor
    assert distributor is not None
    assert (await apply(unbind, parties)).code == 0
    await approved_by_the_distributor(unbind, customer, distributor)
    await accepted(unbind, "confirm", "--customer", customer, "--as", customer, status="COMPLETED")
    await handle_for(dev_env, customer).result()

    offline = {
        **isolated_environment(
            address="127.0.0.1:1", task_queue=worker.task_queue, database_url=database_url
        )
    }
    exported = await run_unbind(offline, "evidence", "--customer", customer)

    assert exported.code == 0, exported
    data = exported.data
    assert data["application"]["status"] == "COMPLETED"
    events = [(e["actor"], e["role"], e["did"], e["text_sha256"]) for e in data["events"]]
    assert events == [
        (
            reseller,
            "initiator",
            "acknowledged the unbinding notice",
            CURRENT.sha256(Consent.NOTICE),
        ),
        (distributor, "distributor", "approved the application", CURRENT.sha256(Consent.REVIEW)),
        (
            customer,
            "customer",
            "confirmed the unbinding",
            CURRENT.sha256(Consent.CONFIRMATION),
        ),
    ]
    assert all(e["text_version"] == CURRENT.version for e in data["events"])
    # What an auditor does: hash each text as given and compare.
    for sha, text in data["texts"].items():
        assert hashlib.sha256(text["text"].encode()).hexdigest() == sha
    assert "You have confirmed settling ALL overdue payments" in "".join(
        t["text"] for t in data["texts"].values()
    )
    [record] = partner_center.records(customer)
    assert record.application_id == data["application"]["application_id"]
    assert {m["event"] for m in data["messages"]} >= {"review_requested", "confirmation_requested"}

    page = await run_unbind(offline, "evidence", "--customer", customer, json=False)
    assert page.code == 0, page
    assert page.stdout.startswith("# Consent evidence: application ")
    for sha in data["texts"]:
        assert f"SHA-256 `{sha}` (matches the text)" in page.stdout
    html = await run_unbind(
        offline, "evidence", "--customer", customer, "--format", "html", json=False
    )
    assert html.code == 0 and "<h2>Who acknowledged or decided what</h2>" in html.stdout

    missing = await run_unbind(offline, "evidence", "--customer", "98765432101")
    assert missing.code == 1 and "no application" in missing.data["error"]
