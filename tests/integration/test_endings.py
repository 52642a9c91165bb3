"""Applications that end without an unbinding (rejections, withdrawal, an
operator's cancel, a conflicting change in the partner center) and requests the
process refuses, through the real ``unbind`` CLI on the Temporal dev server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, update
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from activities.sql.schema import AgreementState, agreements
from tests.conftest import Ledger, fresh_uin
from tests.integration.conftest import (
    Result,
    Unbind,
    apply,
    assert_inbox,
    events,
    handle_for,
    message,
)
from workflows.model import (
    OverduePrivilege,
    PartnerKind,
    UnbindingRecord,
    UnbindingState,
    UnbindStatus,
)

pytestmark = pytest.mark.integration
S = UnbindStatus


async def ended(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    customer: str,
    answer: Result,
    status: UnbindStatus,
) -> tuple[UnbindingState, UnbindingRecord]:
    """The action ``answer`` reports was accepted and ended the application as
    ``status``: the run's result and the partner center's record say the same."""
    assert answer.code == 0, answer
    assert answer.data["accepted"] is True
    assert answer.data["status"] == status.value
    outcome = await handle_for(dev_env, customer).result()
    assert outcome.status is status
    [record] = partner_center.records(customer)
    assert record.status is status
    return outcome, record


async def test_second_level_customer_distributor_rejects(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.second_level()
    assert parties.distributor is not None
    assert (await apply(unbind, parties)).data["status"] == "PENDING_DISTRIBUTOR_REVIEW"

    rejected = await unbind(
        "review",
        "--customer",
        parties.customer,
        "--as",
        parties.distributor,
        "--reject",
        "--reason",
        "open invoices with the distributor",
    )
    outcome, _ = await ended(
        dev_env, partner_center, parties.customer, rejected, S.DISTRIBUTOR_REJECTED
    )
    assert outcome.outcome_reason == "open invoices with the distributor"
    reseller_inbox = assert_inbox(
        partner_center,
        parties.reseller,
        {"submitted", "review_decision:rejected", "distributor_rejected"},
    )
    review_message = message(reseller_inbox, "review_decision:rejected")
    assert "open invoices with the distributor" in review_message["body"]
    assert_inbox(partner_center, parties.distributor, {"review_requested", "distributor_rejected"})
    assert_inbox(partner_center, parties.customer, {"distributor_rejected"})
    assert partner_center.show(parties.customer)["partner"]["uin"] == parties.reseller


async def test_direct_customer_rejects(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.direct()
    assert (await apply(unbind, parties)).code == 0

    rejected = await unbind(
        "reject",
        "--customer",
        parties.customer,
        "--as",
        parties.customer,
        "--reason",
        "happy with my reseller",
    )
    outcome, _ = await ended(
        dev_env, partner_center, parties.customer, rejected, S.CUSTOMER_REJECTED
    )
    assert outcome.outcome_reason == "happy with my reseller"
    # The help page: the initiator gets a system message either way.
    reseller_inbox = partner_center.inbox(parties.reseller)
    reseller_events = events(reseller_inbox)
    assert len(reseller_events) == len(set(reseller_events)), reseller_events
    assert {"submitted", "customer_decision:rejected", "customer_rejected"} <= set(reseller_events)
    rejection = message(reseller_inbox, "customer_decision:rejected")
    assert parties.customer in rejection["body"]
    assert "happy with my reseller" in rejection["body"]
    assert_inbox(partner_center, parties.customer, {"confirmation_requested", "customer_rejected"})
    assert partner_center.show(parties.customer)["agreement"]["state"] == "active"


async def test_every_party_hears_the_outcome_after_the_customer_rejects(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.direct()
    assert (await apply(unbind, parties)).code == 0

    rejected = await unbind("reject", "--customer", parties.customer, "--as", parties.customer)
    assert rejected.data["status"] == "CUSTOMER_REJECTED", rejected
    await handle_for(dev_env, parties.customer).result()

    for party in (parties.customer, parties.reseller):
        bodies = [m["body"] for m in partner_center.inbox(party)]
        assert any("ended as CUSTOMER_REJECTED" in body for body in bodies), (party, bodies)


async def test_only_the_initiator_may_withdraw(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.direct(card=False)
    assert (await apply(unbind, parties)).code == 0

    by_customer = await unbind("withdraw", "--customer", parties.customer, "--as", parties.customer)
    assert by_customer.code == 1, by_customer
    assert by_customer.data["accepted"] is False
    assert by_customer.data["status"] == "PENDING_CUSTOMER_CONFIRMATION"
    assert "only the initiator may withdraw" in by_customer.data["reason"]

    withdrawn = await unbind(
        "withdraw",
        "--customer",
        parties.customer,
        "--as",
        parties.reseller,
        "--reason",
        "agreed to continue",
    )
    outcome, _ = await ended(dev_env, partner_center, parties.customer, withdrawn, S.WITHDRAWN)
    assert outcome.outcome_reason == "agreed to continue"
    assert_inbox(partner_center, parties.customer, {"confirmation_requested", "withdrawn"})
    assert_inbox(partner_center, parties.reseller, {"submitted", "withdrawn"})
    assert partner_center.show(parties.customer)["partner"]["uin"] == parties.reseller


async def test_operator_cancels_from_the_web_ui(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.second_level()
    assert parties.distributor is not None
    assert (await apply(unbind, parties)).data["status"] == "PENDING_DISTRIBUTOR_REVIEW"

    # The Web UI's Cancel button sends exactly this request.
    handle = handle_for(dev_env, parties.customer)
    await handle.cancel()
    outcome = await handle.result()

    assert outcome.status is S.CANCELLED
    status = await unbind("status", "--customer", parties.customer)
    assert status.code == 0, status
    assert status.data["status"] == "CANCELLED"
    assert status.data["execution_status"] == "COMPLETED"
    assert [(e["actor"], e["action"], e["accepted"]) for e in status.data["timeline"]] == [
        ("operator", "cancel", True)
    ]
    [record] = partner_center.records(parties.customer)
    assert record.status is S.CANCELLED
    for party in (parties.customer, parties.reseller, parties.distributor):
        messages = partner_center.inbox(party)
        assert [m["event"] for m in messages].count("cancelled") == 1, party
        assert "cancelled by an operator" in message(messages, "cancelled")["body"]
    assert partner_center.show(parties.customer)["agreement"]["state"] == "active"


async def test_relationship_changed_behind_the_workflow_fails_the_cutover(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    database_url: str,
    unbind: Unbind,
) -> None:
    parties = ledger.direct()
    other_reseller = fresh_uin()
    partner_center.add_partner(other_reseller, kind=PartnerKind.RESELLER)
    assert (await apply(unbind, parties)).code == 0
    partner_center.set_account(parties.customer, overdue_privilege=OverduePrivilege.POSTPAID)
    confirmed = await unbind("confirm", "--customer", parties.customer, "--as", parties.customer)
    assert confirmed.data["status"] == "AWAITING_REMEDIATION", confirmed

    # A conflicting change in the partner center while the application waits:
    # the agreement is ended and the customer moves to another reseller.
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                update(agreements)
                .where(
                    agreements.c.customer_uin == parties.customer,
                    agreements.c.state == AgreementState.ACTIVE.value,
                )
                .values(state=AgreementState.INVALIDATED, invalidated_at=datetime.now(UTC))
            )
    finally:
        engine.dispose()
    partner_center.add_customer(parties.customer, partner_uin=other_reseller)
    partner_center.set_account(parties.customer, overdue_privilege=OverduePrivilege.NONE)

    rechecked = await unbind("recheck", "--customer", parties.customer, "--as", parties.reseller)
    # A business outcome, not a workflow failure: the run completes normally.
    outcome, record = await ended(dev_env, partner_center, parties.customer, rechecked, S.FAILED)
    assert outcome.effective_at is None
    assert outcome.outcome_reason is not None and other_reseller in outcome.outcome_reason
    status = await unbind("status", "--customer", parties.customer)
    assert status.data["status"] == "FAILED"
    assert status.data["execution_status"] == "COMPLETED"
    assert record.effective_at is None
    assert partner_center.cutover_for(record.application_id) is None
    # The conflicting change stands: the orchestrator did not touch it.
    assert partner_center.show(parties.customer)["partner"]["uin"] == other_reseller
    for party in (parties.customer, parties.reseller):
        messages = partner_center.inbox(party)
        assert [m["event"] for m in messages].count("failed") == 1, party
        assert other_reseller in message(messages, "failed")["body"]
