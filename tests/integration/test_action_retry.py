"""Retrying an action with the ``action_id`` it printed (issue 9), through the
real ``unbind`` CLI on the Temporal dev server: the retry answers as the first
call did and has no second effect, also once the application has ended."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger
from tests.integration.conftest import Unbind, apply, assert_inbox, handle_for
from workflows.unbinding import UnbindingWorkflow

pytestmark = pytest.mark.integration


async def test_a_review_sent_twice_with_one_action_id_is_taken_once(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.second_level()
    assert parties.distributor is not None
    assert (await apply(unbind, parties)).data["status"] == "PENDING_DISTRIBUTOR_REVIEW"
    review = ("review", "--customer", parties.customer, "--as", parties.distributor, "--approve")

    first = await unbind(*review, "--action-id", "review-7")
    again = await unbind(*review, "--action-id", "review-7")

    assert first.code == again.code == 0, (first, again)
    assert first.data == again.data
    assert again.data["action_id"] == "review-7"
    assert again.data["status"] == "PENDING_CUSTOMER_CONFIRMATION"
    state = await handle_for(dev_env, parties.customer).query(UnbindingWorkflow.status)
    assert [(e.action, e.action_id) for e in state.timeline] == [("review", "review-7")]
    assert_inbox(partner_center, parties.reseller, {"submitted", "review_decision:approved"})


async def test_a_retry_after_the_application_ended_gets_the_first_answer(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    parties = ledger.direct(card=True)
    assert (await apply(unbind, parties)).code == 0
    confirm = ("confirm", "--customer", parties.customer, "--as", parties.customer)

    first = await unbind(*confirm, "--action-id", "confirm-1")
    await handle_for(dev_env, parties.customer).result()
    retried = await unbind(*confirm, "--action-id", "confirm-1")
    another = await unbind(*confirm)

    assert first.code == 0, first
    assert retried.code == 0, retried
    assert retried.data["accepted"] is True
    assert retried.data["status"] == "COMPLETED"
    assert another.code == 1, another
    assert another.data["reason"] == "the application has already ended"
    assert len(partner_center.records(parties.customer)) == 1
    # The id shows in the timeline: another party's, or another kind of,
    # action under it is not the one that was taken.
    for borrowed in (
        ("withdraw", "--customer", parties.customer, "--as", parties.reseller),
        ("reject", "--customer", parties.customer, "--as", parties.customer),
    ):
        refused = await unbind(*borrowed, "--action-id", "confirm-1")
        assert refused.code == 1, refused
        assert refused.data["accepted"] is False
        assert refused.data["reason"] == "the application has already ended"
