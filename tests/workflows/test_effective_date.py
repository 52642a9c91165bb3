"""The effective date (issue 13, item 5): a cutover at once, or at the end of
the current billing month on a durable timer; the parties are shown the date
and what changes before they decide, and the record keeps it; withdraw and
cancel still end the application until the cutover begins. Rules without a
server; the waits on the time-skipping server with a real worker and partner
center."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import Ledger, eventually, history_length, running_worker
from tests.workflows.scenarios import act, action, status, submit
from workflows import rules
from workflows.model import ActionKind, CheckName, Effective, Requester, UnbindStatus
from workflows.unbinding import UnbindingWorkflow

S = UnbindStatus
K = ActionKind
END_OF_MONTH = Effective.END_OF_MONTH


@pytest.mark.parametrize(
    ("now", "boundary"),
    [
        (datetime(2026, 11, 29, 21, 0, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        # The first instant of a month belongs to it: its end is a month later.
        (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        (datetime(2026, 2, 14, 12, 0, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_the_billing_boundary_is_the_first_instant_of_the_next_month(
    now: datetime, boundary: datetime
) -> None:
    assert rules.end_of_billing_month(now) == boundary
    plan = rules.cutover_plan(END_OF_MONTH, now=now, discounts=["CDN 5% off"])
    assert plan.effective_on == boundary and plan.discounts_ending == ("CDN 5% off",)
    assert rules.waits_for_the_date(plan, now)
    assert not rules.waits_for_the_date(plan, boundary)
    at_once = rules.cutover_plan(Effective.AT_ONCE, now=now, discounts=[])
    assert at_once.effective_on is None and not rules.waits_for_the_date(at_once, now)
    assert "delayed" in at_once.delayed_bills and "reseller" in at_once.delayed_bills


def test_withdraw_and_cancel_stay_possible_while_waiting_for_the_date() -> None:
    assert {S.WITHDRAWN, S.CANCELLED} <= rules.TRANSITIONS[S.AWAITING_EFFECTIVE_DATE]
    assert S.AWAITING_EFFECTIVE_DATE in rules.ACCEPTED_IN[K.WITHDRAW]
    assert S.AWAITING_EFFECTIVE_DATE in rules.CANCELLABLE
    assert rules.TRANSITIONS[S.AWAITING_EFFECTIVE_DATE] - {S.WITHDRAWN, S.CANCELLED} == {
        S.FINAL_CHECK
    }


@pytest.mark.timeskipping
async def test_the_cutover_waits_for_the_end_of_the_month(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    parties = ledger.direct()
    ledger.pc.add_discount(parties.customer, "Compute 20% off")
    ledger.pc.end_discount(parties.customer, "Compute 20% off")  # the notice's promise
    async with running_worker(time_skipping_env.client, ledger.pc, executor) as worker:
        handle, submitted = await submit(
            time_skipping_env.client, worker.task_queue, parties, effective=END_OF_MONTH
        )
        assert submitted.status is S.PENDING_CUSTOMER_CONFIRMATION
        asked = await status(handle)
        result = await act(handle, K.CONFIRM, parties.customer)
        scheduled = await status(handle)
        outcome = await handle.result()

    # Shown before the customer decided: the date, the discount that ends, the rule.
    assert asked.plan is not None and asked.plan.effective == END_OF_MONTH
    boundary = rules.end_of_billing_month(asked.transitions[-1].at)
    assert asked.plan.effective_on == boundary
    [request] = [
        m for m in ledger.pc.inbox(parties.customer) if m["event"] == "confirmation_requested"
    ]
    assert boundary.isoformat() in request["body"]
    assert "Compute 20% off" in request["body"]
    assert "still charged to the reseller" in request["body"]

    assert result.accepted and result.status is S.AWAITING_EFFECTIVE_DATE
    assert scheduled.deadline == boundary
    assert outcome.status is S.COMPLETED
    assert outcome.effective_at is not None
    assert timedelta(0) <= outcome.effective_at - boundary < timedelta(minutes=5)
    assert [t.status for t in outcome.transitions][-4:] == [
        S.AWAITING_EFFECTIVE_DATE,
        S.FINAL_CHECK,
        S.CUTTING_OVER,
        S.COMPLETED,
    ]
    [record] = ledger.pc.records(parties.customer)
    assert record.plan is not None and record.plan.effective_on == boundary
    assert record.plan.discounts_ending == ("Compute 20% off",)
    for uin in (parties.customer, parties.reseller):
        assert "cutover_scheduled" in [m["event"] for m in ledger.pc.inbox(uin)]
    assert ledger.pc.show(parties.customer)["partner"] is None


@pytest.mark.timeskipping
async def test_the_final_check_reads_the_account_again_after_the_wait_for_the_date(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    """The account read right after the confirmation stands for the final check
    only when the story goes straight on to it: an account that changed while
    the cutover waited for the end of the month is caught at the date."""
    parties = ledger.direct()
    async with running_worker(time_skipping_env.client, ledger.pc, executor) as worker:
        handle, _ = await submit(
            time_skipping_env.client, worker.task_queue, parties, effective=END_OF_MONTH
        )
        result = await act(handle, K.CONFIRM, parties.customer)
        assert result.accepted and result.status is S.AWAITING_EFFECTIVE_DATE
        ledger.pc.set_account(parties.customer, info_complete=False)
        outcome = await handle.result()

    statuses = [t.status for t in outcome.transitions]
    assert statuses[statuses.index(S.AWAITING_EFFECTIVE_DATE) :][:3] == [
        S.AWAITING_EFFECTIVE_DATE,
        S.FINAL_CHECK,
        S.AWAITING_REMEDIATION,
    ]
    assert outcome.status is S.EXPIRED and S.CUTTING_OVER not in statuses
    assert [c.check for c in outcome.failed_checks] == [CheckName.ACCOUNT_INFORMATION]
    assert ledger.pc.show(parties.customer)["partner"]["uin"] == parties.reseller


@pytest.mark.timeskipping
@pytest.mark.parametrize("how", ["withdraw", "cancel"])
async def test_ended_after_the_confirmation_but_before_the_date(
    time_skipping_env: WorkflowEnvironment,
    ledger: Ledger,
    executor: ThreadPoolExecutor,
    how: str,
) -> None:
    """Handled like an ending before the confirmation: no cutover, every party told."""
    parties = ledger.direct()
    async with running_worker(time_skipping_env.client, ledger.pc, executor) as worker:
        handle, _ = await submit(
            time_skipping_env.client, worker.task_queue, parties, effective=END_OF_MONTH
        )
        confirmed = await act(handle, K.CONFIRM, parties.customer)
        assert confirmed.status is S.AWAITING_EFFECTIVE_DATE
        if how == "withdraw":
            withdrawn = await act(handle, K.WITHDRAW, parties.reseller, reason="not yet")
            assert withdrawn.accepted and withdrawn.status is S.WITHDRAWN
        else:
            await handle.cancel()
        outcome = await handle.result()

    ended = S.WITHDRAWN if how == "withdraw" else S.CANCELLED
    assert outcome.status is ended and outcome.effective_at is None
    assert ledger.pc.show(parties.customer)["agreement"]["state"] == "active"
    [record] = ledger.pc.records(parties.customer)
    assert record.status is ended
    for uin in (parties.customer, parties.reseller):
        assert ended.lower() in [m["event"] for m in ledger.pc.inbox(uin)]


@pytest.mark.timeskipping
async def test_at_once_the_plan_is_shown_and_nothing_waits(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    parties = ledger.direct()
    async with running_worker(time_skipping_env.client, ledger.pc, executor) as worker:
        handle, _ = await submit(time_skipping_env.client, worker.task_queue, parties)
        result = await act(handle, K.CONFIRM, parties.customer)
        outcome = await handle.result()

    assert result.status is S.COMPLETED
    assert outcome.plan is not None and outcome.plan.effective_on is None
    assert S.AWAITING_EFFECTIVE_DATE not in [t.status for t in outcome.transitions]


@pytest.mark.timeskipping
async def test_a_customers_request_at_the_end_of_the_month(
    time_skipping_env: WorkflowEnvironment, ledger: Ledger, executor: ThreadPoolExecutor
) -> None:
    """Items 4 and 5 together: the reseller is shown the date before it reviews."""
    parties = ledger.direct()
    async with running_worker(time_skipping_env.client, ledger.pc, executor) as worker:
        handle, submitted = await submit(
            time_skipping_env.client,
            worker.task_queue,
            parties,
            requested_by=Requester.CUSTOMER,
            effective=END_OF_MONTH,
        )
        assert submitted.status is S.PENDING_RESELLER_REVIEW
        reviewed = await act(handle, K.RESELLER_REVIEW, parties.reseller, approve=True)
        outcome = await handle.result()

    [request] = [
        m for m in ledger.pc.inbox(parties.reseller) if m["event"] == "reseller_review_requested"
    ]
    assert outcome.plan is not None and outcome.plan.effective_on is not None
    assert outcome.plan.effective_on.isoformat() in request["body"]
    assert reviewed.status is S.AWAITING_EFFECTIVE_DATE
    assert outcome.status is S.COMPLETED


@pytest.mark.integration
async def test_the_waits_of_both_items_resume_after_a_hand_over(
    dev_env: WorkflowEnvironment,
    ledger: Ledger,
    executor: ThreadPoolExecutor,
    lower_history_bound: Callable[[int], None],
) -> None:
    """A long history continues as new in the reseller's review and in the wait
    for the date: same wait, same deadline, nobody asked again. (On the dev
    server: the time-skipping server does not answer a query while a run
    hands over.)"""
    client = dev_env.client
    parties = ledger.direct()
    async with running_worker(client, ledger.pc, executor) as worker:
        started, _ = await submit(
            client,
            worker.task_queue,
            parties,
            requested_by=Requester.CUSTOMER,
            effective=END_OF_MONTH,
        )
        latest = client.get_workflow_handle_for(UnbindingWorkflow.run, started.id)
        for wait, runs in ((S.PENDING_RESELLER_REVIEW, 2), (S.AWAITING_EFFECTIVE_DATE, 3)):
            before = await status(latest)
            assert before.status is wait
            lower_history_bound(await history_length(latest))
            noise = action(K.CONFIRM, parties.reseller)  # refused: wakes the wait
            await latest.signal(UnbindingWorkflow.confirm_signal, noise)
            after = await eventually(lambda: status(latest), lambda s, r=runs: s.runs == r)
            assert after.runs == runs and after.status is wait
            assert after.deadline == before.deadline
            lower_history_bound(10_000)
            if wait is S.PENDING_RESELLER_REVIEW:
                reviewed = await act(latest, K.RESELLER_REVIEW, parties.reseller, approve=True)
                assert reviewed.status is S.AWAITING_EFFECTIVE_DATE
        # The date is days away in real time: the customer withdraws before it.
        withdrawn = await act(latest, K.WITHDRAW, parties.customer)
        outcome = await latest.result()

    assert withdrawn.accepted and outcome.status is S.WITHDRAWN and outcome.runs == 3
    for uin in (parties.customer, parties.reseller):
        events = [m["event"] for m in ledger.pc.inbox(uin)]
        assert len(events) == len(set(events)), events
