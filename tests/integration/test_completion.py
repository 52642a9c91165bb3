"""Applications that end with the customer unbound, through the real ``unbind``
CLI (and the typed client API), on the Temporal dev server."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.errors import ApplicationConflict
from tests.conftest import Ledger
from tests.integration.conftest import (
    Unbind,
    accepted,
    apply,
    approved_by_the_distributor,
    assert_inbox,
    events,
    handle_for,
    listed,
    message,
)
from workflows.model import UnbindStatus
from workflows.rules import DELAYED_BILLS

pytestmark = pytest.mark.integration
S = UnbindStatus


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_direct_customer_with_card_confirms_and_is_unbound(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.direct(card=True)
    workflow_id = f"unbind-{parties.customer}"

    applied = await apply(unbind, parties, "--reason", "the contract ends")
    assert applied.code == 0, applied
    assert applied.data == {
        "accepted": True,
        "workflow_id": workflow_id,
        "status": "PENDING_CUSTOMER_CONFIRMATION",
        "failed_checks": [],
        # What the cutover changes, as the parties are shown it (issue 13, item 5).
        "plan": {
            "effective": "at_once",
            "effective_on": None,
            "discounts_ending": [],
            "delayed_bills": DELAYED_BILLS,
        },
    }
    [record] = partner_center.records(parties.customer)
    assert record.status is S.PENDING_CUSTOMER_CONFIRMATION
    assert record.notice_acknowledged_by == parties.reseller
    assert record.reason == "the contract ends"
    waiting = await listed(
        unbind,
        "--status",
        "PENDING_CUSTOMER_CONFIRMATION",
        "--reseller",
        parties.reseller,
        workflow_id=workflow_id,
        status="PENDING_CUSTOMER_CONFIRMATION",
    )
    assert waiting["customer_uin"] == parties.customer
    assert waiting["distributor_uin"] is None
    assert waiting["deadline"] is not None
    # The deadline is set on the workflow's clock as the wait begins: exactly
    # ten days after the transition that began it.
    asked = await unbind("status", "--customer", parties.customer)
    [began] = [
        t["at"] for t in asked.data["transitions"] if t["status"] == "PENDING_CUSTOMER_CONFIRMATION"
    ]
    assert moment(waiting["deadline"]) == moment(asked.data["deadline"])
    assert moment(asked.data["deadline"]) - moment(began) == timedelta(days=10)

    confirmed = await accepted(
        unbind,
        "confirm",
        "--customer",
        parties.customer,
        "--as",
        parties.customer,
        status="COMPLETED",
    )
    assert confirmed.data["reason"] is None
    await handle_for(dev_env, parties.customer).result()

    status = await unbind("status", "--customer", parties.customer)
    assert status.code == 0, status
    state = status.data
    assert state["status"] == "COMPLETED"
    assert state["execution_status"] == "COMPLETED"
    assert state["deadline"] is None
    assert state["effective_at"] is not None
    assert [(e["actor"], e["action"], e["accepted"]) for e in state["timeline"]] == [
        (parties.customer, "confirm", True)
    ]
    assert [t["status"] for t in state["transitions"]] == [
        "PENDING_CUSTOMER_CONFIRMATION",
        "FINAL_CHECK",
        "CUTTING_OVER",
        "COMPLETED",
    ]
    effective_at = moment(state["effective_at"])

    shown = await unbind("ledger", "show", parties.customer)
    assert shown.code == 0, shown
    assert shown.data["partner"] is None
    assert shown.data["agreement"]["state"] == "invalidated"
    assert shown.data["agreement"]["partner_uin"] == parties.reseller
    assert moment(shown.data["agreement"]["invalidated_at"]) == effective_at

    [record] = partner_center.records(parties.customer)
    assert record.status is S.COMPLETED
    assert record.effective_at == effective_at
    assert record.deadline is None

    inbox = await unbind("inbox", "--account", parties.customer)
    assert inbox.code == 0, inbox
    assert sorted(events(inbox.data)) == ["completed", "confirmation_requested"]
    assert effective_at.isoformat() in message(inbox.data, "completed")["body"]
    assert_inbox(
        partner_center, parties.reseller, {"submitted", "customer_decision:confirmed", "completed"}
    )

    done = await listed(
        unbind,
        "--status",
        "COMPLETED",
        "--reseller",
        parties.reseller,
        workflow_id=workflow_id,
        status="COMPLETED",
    )
    assert done["deadline"] is None


async def test_second_level_customer_approved_then_binds_a_card(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.second_level(card=False)
    assert parties.distributor is not None
    customer = parties.customer
    workflow_id = f"unbind-{customer}"

    applied = await apply(unbind, parties)
    assert applied.code == 0, applied
    assert applied.data["accepted"] is True
    assert applied.data["status"] == "PENDING_DISTRIBUTOR_REVIEW"

    await approved_by_the_distributor(unbind, customer, parties.distributor)

    confirmed = await unbind("confirm", "--customer", customer, "--as", customer)
    assert confirmed.code == 0, confirmed
    assert confirmed.data["status"] == "PENDING_CARD_BINDING"

    # The customer's word alone proves nothing: the partner center has no card yet.
    too_early = await unbind("card-bound", "--customer", customer, "--as", customer)
    assert too_early.code == 1, too_early
    assert too_early.data["accepted"] is False
    assert too_early.data["status"] == "PENDING_CARD_BINDING"
    assert "no card is bound" in too_early.data["reason"]
    status = await unbind("status", "--customer", customer)
    [claim] = [e for e in status.data["timeline"] if e["action"] == "card_bound"]
    assert claim["accepted"] is False
    assert claim["actor"] == customer
    assert "no card is bound" in claim["reason"]

    carded = await unbind("ledger", "set", customer, "--card")
    assert carded.code == 0, carded
    assert carded.data["card_bound"] is True

    await accepted(
        unbind, "card-bound", "--customer", customer, "--as", customer, status="COMPLETED"
    )
    outcome = await handle_for(dev_env, customer).result()
    assert outcome.status is S.COMPLETED
    assert outcome.distributor_uin == parties.distributor
    assert [(e.action, e.accepted) for e in outcome.timeline] == [
        ("review", True),
        ("confirm", True),
        ("card_bound", False),
        ("card_bound", True),
    ]

    assert partner_center.show(customer)["partner"] is None
    [record] = partner_center.records(customer)
    assert record.status is S.COMPLETED
    assert record.distributor_uin == parties.distributor
    assert record.effective_at == outcome.effective_at
    assert_inbox(
        partner_center,
        parties.distributor,
        {"review_requested", "customer_decision:confirmed", "completed"},
    )
    assert_inbox(
        partner_center, customer, {"confirmation_requested", "card_binding_requested", "completed"}
    )
    assert_inbox(
        partner_center,
        parties.reseller,
        {"submitted", "review_decision:approved", "customer_decision:confirmed", "completed"},
    )

    row = await listed(
        unbind,
        "--distributor",
        parties.distributor,
        workflow_id=workflow_id,
        status="COMPLETED",
    )
    assert row["customer_uin"] == customer
    assert row["reseller_uin"] == parties.reseller
    assert row["distributor_uin"] == parties.distributor


async def test_typed_client_submits_with_update_with_start(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    worker: Worker,
    unbind: Unbind,
) -> None:
    parties = ledger.direct(card=True)
    client = UnbindingClient(dev_env.client, task_queue=worker.task_queue)

    submitted = await client.apply(
        customer_uin=parties.customer,
        initiator_uin=parties.reseller,
        notice_acknowledged=True,
        reason="moving to direct billing",
    )
    assert submitted.accepted
    assert submitted.workflow_id == f"unbind-{parties.customer}"
    assert submitted.status is S.PENDING_CUSTOMER_CONFIRMATION
    assert submitted.failed_checks == []

    with pytest.raises(ApplicationConflict) as conflict:
        await client.apply(
            customer_uin=parties.customer, initiator_uin=parties.reseller, notice_acknowledged=True
        )
    assert conflict.value.open_workflow_id == submitted.workflow_id

    # The CLI sees the application the client API started.
    status = await unbind("status", "--customer", parties.customer)
    assert status.code == 0, status
    assert status.data["status"] == "PENDING_CUSTOMER_CONFIRMATION"
    assert status.data["reason"] == "moving to direct billing"

    confirmed = await client.confirm(parties.customer, actor=parties.customer)
    assert confirmed.accepted
    assert confirmed.status is S.COMPLETED
    assert (await client.status(parties.customer)).effective_at is not None
    [record] = partner_center.records(parties.customer)
    assert record.status is S.COMPLETED
