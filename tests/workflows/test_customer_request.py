"""The customer's own request (issue 13, item 4): the customer applies to leave
its reseller, the reseller reviews within its deadline or the deadline decides
(each choice: expire, approve automatically, hand to the distributor), then
the card, the final check and the cutover as in the reseller's flow. On the
time-skipping server with a real worker and a real partner center."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.conftest import Ledger, Parties, running_worker
from tests.workflows.scenarios import act, status, submit
from workflows.model import (
    ActionKind,
    ApplicationInput,
    DeadlineActions,
    Deadlines,
    OnDeadline,
    Requester,
    UnbindingState,
    UnbindStatus,
)

S = UnbindStatus
K = ActionKind
CUSTOMER = Requester.CUSTOMER
pytestmark = pytest.mark.timeskipping

Handle = WorkflowHandle[Any, UnbindingState]


async def refusal(handle: Handle, kind: ActionKind, actor: str, **fields: Any) -> str:
    """Why the workflow refused the action (an update's validator refuses at once)."""
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(handle, kind, actor, **fields)
    return str(refused.value.cause)


def on_deadline(**choices: OnDeadline) -> Deadlines:
    return Deadlines(on_deadline=DeadlineActions(**choices))


@asynccontextmanager
async def worker_for(
    env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> AsyncIterator[Worker]:
    async with running_worker(env.client, ledger.pc, executor) as worker:
        yield worker


async def requested(
    env: WorkflowEnvironment, worker: Worker, parties: Parties, deadlines: Deadlines | None = None
) -> Handle:
    handle, submitted = await submit(
        env.client, worker.task_queue, parties, requested_by=CUSTOMER, deadlines=deadlines
    )
    assert submitted.accepted and submitted.status is S.PENDING_RESELLER_REVIEW, submitted
    return handle


async def test_the_reseller_approves_and_the_customer_is_cut_over(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    parties = ledger.direct(card=False)
    async with worker_for(time_skipping_env, ledger, executor) as worker:
        handle = await requested(time_skipping_env, worker, parties)
        waiting = await status(handle)
        assert waiting.reseller_uin == parties.reseller
        assert waiting.requested_by is CUSTOMER
        result = await act(handle, K.RESELLER_REVIEW, parties.reseller, approve=True)
        # The customer asked, so it is not asked to confirm: on to the card.
        assert result.accepted and result.status is S.PENDING_CARD_BINDING, result
        ledger.pc.set_account(parties.customer, card_bound=True)
        bound = await act(handle, K.CARD_BOUND, parties.customer)
        assert bound.accepted
        outcome = await handle.result()

    assert outcome.status is S.COMPLETED
    assert [t.status for t in outcome.transitions] == [
        S.PENDING_RESELLER_REVIEW,
        S.PENDING_CARD_BINDING,
        S.FINAL_CHECK,
        S.CUTTING_OVER,
        S.COMPLETED,
    ]
    assert ledger.pc.show(parties.customer)["partner"] is None
    [record] = ledger.pc.records(parties.customer)
    assert record.status is S.COMPLETED and record.requested_by is CUSTOMER
    review_requests = [m for m in ledger.pc.inbox(parties.reseller)]
    assert "reseller_review_requested" in [m["event"] for m in review_requests]


async def test_the_notices_promises_do_not_hold_up_the_customers_own_request(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    """Overdue bills and active discounts are the reseller's promises (its
    notice), not checks of a request the customer makes: the request passes its
    submission and final checks with both, the plan lists the discount as
    ending, and the cutover ends it (docs/SAFEGUARDS.md)."""
    parties = ledger.direct(card=True)
    ledger.pc.set_account(parties.customer, overdue_bills=2)
    ledger.pc.add_discount(parties.customer, "Storage 10% off")
    async with worker_for(time_skipping_env, ledger, executor) as worker:
        handle = await requested(time_skipping_env, worker, parties)
        waiting = await status(handle)
        assert waiting.plan is not None
        assert waiting.plan.discounts_ending == ("Storage 10% off",)
        await act(handle, K.RESELLER_REVIEW, parties.reseller, approve=True)
        outcome = await handle.result()

    assert outcome.status is S.COMPLETED, outcome.failed_checks
    shown = ledger.pc.show(parties.customer)
    assert shown["partner"] is None
    assert (shown["discounts"], shown["ended_discounts"]) == ([], [])
    # The same account fails the reseller's own application on both promises.
    other = ledger.direct(card=True)
    ledger.pc.set_account(other.customer, overdue_bills=2)
    ledger.pc.add_discount(other.customer, "Storage 10% off")
    async with worker_for(time_skipping_env, ledger, executor) as worker:
        _, refused = await submit(time_skipping_env.client, worker.task_queue, other)
    assert [c.check for c in refused.failed_checks] == ["overdue_bills", "active_discounts"]


async def test_the_reseller_rejects(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    parties = ledger.direct()
    async with worker_for(time_skipping_env, ledger, executor) as worker:
        handle = await requested(time_skipping_env, worker, parties)
        result = await act(
            handle, K.RESELLER_REVIEW, parties.reseller, approve=False, reason="contract runs"
        )
        outcome = await handle.result()

    assert result.accepted and result.status is S.RESELLER_REJECTED
    assert outcome.status is S.RESELLER_REJECTED and outcome.outcome_reason == "contract runs"
    assert ledger.pc.show(parties.customer)["partner"]["uin"] == parties.reseller
    assert "reseller_rejected" in [m["event"] for m in ledger.pc.inbox(parties.customer)]


async def test_only_the_reseller_reviews_and_only_the_customer_withdraws(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    parties = ledger.second_level()
    other = ledger.direct()
    async with worker_for(time_skipping_env, ledger, executor) as worker:
        handle = await requested(time_skipping_env, worker, parties)
        for actor in (parties.customer, parties.distributor, other.reseller):
            assert actor is not None
            refused = await refusal(handle, K.RESELLER_REVIEW, actor, approve=True)
            assert "only the customer's reseller may review" in refused
        # The reseller reviews; it may not withdraw the customer's request.
        assert "only the initiator" in await refusal(handle, K.WITHDRAW, parties.reseller)
        withdrawn = await act(handle, K.WITHDRAW, parties.customer, reason="changed my mind")
        outcome = await handle.result()

    assert withdrawn.accepted and outcome.status is S.WITHDRAWN


def test_only_the_customer_applies_for_itself() -> None:
    with pytest.raises(ValidationError, match="initiated by the customer itself"):
        ApplicationInput.model_validate(
            {
                "application_id": "app-00000001",
                "customer_uin": "20000000001",
                "initiator_uin": "10000000002",
                "submitter_uin": "10000000002",
                "notice_acknowledged": True,
                "acknowledged_at": "2026-11-29T00:00:00Z",
                "requested_by": "customer",
            }
        )


async def test_a_sub_user_of_the_customer_may_not_apply(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    parties = ledger.direct()
    subuser = "10000000444"
    ledger.pc.add_subuser(subuser, owner_uin=parties.customer)
    async with worker_for(time_skipping_env, ledger, executor) as worker:
        handle, submitted = await submit(
            time_skipping_env.client,
            worker.task_queue,
            parties,
            requested_by=CUSTOMER,
            submitter=subuser,
        )
        await handle.result()

    assert not submitted.accepted and submitted.status is S.PRECHECK_FAILED
    assert [c.check for c in submitted.failed_checks] == ["root_account"]
    assert "customer's own root account" in submitted.failed_checks[0].hint


async def test_left_unreviewed_the_request_is_approved_automatically(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    """The default, as Tencent does: 10 days, then approved."""
    parties = ledger.direct()
    async with worker_for(time_skipping_env, ledger, executor) as worker:
        handle = await requested(time_skipping_env, worker, parties)
        waiting = await status(handle)
        outcome = await handle.result()

    assert waiting.deadline is not None
    assert waiting.deadline - waiting.transitions[-1].at == timedelta(days=10)
    assert outcome.status is S.COMPLETED
    [auto] = [e for e in outcome.timeline if e.action == K.RESELLER_REVIEW]
    assert auto.actor == "system" and "approved the review automatically" in (auto.reason or "")
    assert outcome.transitions[-1].at - waiting.transitions[-1].at >= timedelta(days=10)
    events = [m["event"] for m in ledger.pc.inbox(parties.reseller)]
    assert f"reminder:{S.PENDING_RESELLER_REVIEW}:1d" in events
    assert f"deadline:{S.PENDING_RESELLER_REVIEW}:approve" in events


async def test_a_deadline_set_to_expire_ends_the_request(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    parties = ledger.direct()
    deadlines = on_deadline(reseller_review=OnDeadline.EXPIRE)
    async with worker_for(time_skipping_env, ledger, executor) as worker:
        handle = await requested(time_skipping_env, worker, parties, deadlines)
        outcome = await handle.result()

    assert outcome.status is S.EXPIRED
    assert outcome.outcome_reason == "the reseller did not review in time"
    assert ledger.pc.show(parties.customer)["partner"]["uin"] == parties.reseller


async def test_a_deadline_hands_the_review_to_the_distributor(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    parties = ledger.second_level()
    assert parties.distributor is not None
    deadlines = on_deadline(reseller_review=OnDeadline.DISTRIBUTOR)
    async with worker_for(time_skipping_env, ledger, executor) as worker:
        handle = await requested(time_skipping_env, worker, parties, deadlines)
        await time_skipping_env.sleep(timedelta(days=10, minutes=1))
        handed = await status(handle)
        # Handed over, the reseller's own review is no longer accepted.
        late = await refusal(handle, K.RESELLER_REVIEW, parties.reseller, approve=False)
        result = await act(handle, K.REVIEW, parties.distributor, approve=True)
        outcome = await handle.result()

    assert handed.status is S.PENDING_DISTRIBUTOR_REVIEW
    assert "not accepted while the application is PENDING_DISTRIBUTOR_REVIEW" in late
    assert result.accepted
    assert outcome.status is S.COMPLETED
    assert [t.status for t in outcome.transitions][:3] == [
        S.PENDING_RESELLER_REVIEW,
        S.PENDING_DISTRIBUTOR_REVIEW,
        S.FINAL_CHECK,
    ]
    assert "review_requested" in [m["event"] for m in ledger.pc.inbox(parties.distributor)]


async def test_a_hand_over_with_no_distributor_expires(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    parties = ledger.direct()
    deadlines = on_deadline(reseller_review=OnDeadline.DISTRIBUTOR)
    async with worker_for(time_skipping_env, ledger, executor) as worker:
        handle = await requested(time_skipping_env, worker, parties, deadlines)
        outcome = await handle.result()

    assert outcome.status is S.EXPIRED


async def test_the_distributors_deadline_may_approve_too(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    """Both reviews left to their deadlines: handed over, then approved."""
    parties = ledger.second_level()
    deadlines = on_deadline(
        reseller_review=OnDeadline.DISTRIBUTOR, distributor_review=OnDeadline.APPROVE
    )
    async with worker_for(time_skipping_env, ledger, executor) as worker:
        handle = await requested(time_skipping_env, worker, parties, deadlines)
        outcome = await handle.result()

    assert outcome.status is S.COMPLETED
    automatic = [e.reason for e in outcome.timeline if e.actor == "system"]
    assert any("handed the review to the distributor" in (r or "") for r in automatic)
    assert any("approved the review automatically" in (r or "") for r in automatic)


async def test_in_the_resellers_flow_the_distributors_deadline_may_approve(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    parties = ledger.second_level()
    deadlines = on_deadline(distributor_review=OnDeadline.APPROVE)
    async with worker_for(time_skipping_env, ledger, executor) as worker:
        handle, submitted = await submit(
            time_skipping_env.client, worker.task_queue, parties, deadlines=deadlines
        )
        assert submitted.status is S.PENDING_DISTRIBUTOR_REVIEW
        await time_skipping_env.sleep(timedelta(days=10, minutes=1))
        waiting = await status(handle)
        await act(handle, K.CONFIRM, parties.customer)
        outcome = await handle.result()

    # Approved by the deadline, the customer is still asked to confirm.
    assert waiting.status is S.PENDING_CUSTOMER_CONFIRMATION
    assert outcome.status is S.COMPLETED


@pytest.mark.parametrize(
    "wait", ["distributor_review", "customer_confirmation", "card_binding", "remediation"]
)
def test_a_deadline_never_decides_what_only_a_party_can(wait: str) -> None:
    """The customer's consent, a card or a fix: only a review may be decided by a deadline."""
    for choice in (OnDeadline.DISTRIBUTOR, OnDeadline.APPROVE):
        if wait == "distributor_review" and choice is OnDeadline.APPROVE:
            continue
        with pytest.raises(ValidationError, match=f"{wait}: the deadline may only"):
            DeadlineActions.model_validate({wait: choice.value})
