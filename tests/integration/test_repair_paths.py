"""The paths of ``unbind close-terminated`` the runbook promises (docs/OPERATIONS.md,
"Repairing a Terminate"), each shown on the real dev server, a real worker and
the real partner center, through the real ``unbind`` CLI: a terminate after the
cutover committed, a run that failed or timed out, an application that
continued as new, two repairs at once, a repair interrupted half-way, and the
stopped run's own record save arriving after the repair.

The worker runs over a gated partner center (tests/workflows/gates.py), so a
run is stopped exactly where a scenario needs it, waiting on events.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError, TimeoutError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import activities.sql.repair
from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.repair import close_terminated
from tests.conftest import Ledger, Parties, eventually
from tests.integration.conftest import (
    Unbind,
    apply,
    assert_inbox,
    continued_once,
    handle_for,
    message,
    run_statuses,
)
from tests.workflows.gates import GatedPartnerCenter
from tests.workflows.scenarios import submit
from workflows.contract import workflow_id_for
from workflows.model import (
    ApplicationInput,
    ConfirmAction,
    Deadlines,
    Requester,
    UnbindingRecord,
    UnbindStatus,
)
from workflows.unbinding import UnbindingWorkflow

pytestmark = pytest.mark.integration
S = UnbindStatus
OPERATOR = "operator:alice"
EXECUTION_TIMEOUT = timedelta(seconds=6)
"""The raw start's execution timeout: long enough to be submitted, short to wait out."""


class FaultyPartnerCenter(GatedPartnerCenter):
    """The gated partner center, whose account reads can be made to fail for
    good (a bug or a corrupt row: a non-retryable error fails the run)."""

    broken = False

    def account(self, uin: str) -> Any:
        if self.broken:
            raise ApplicationError("corrupt account row", type="CorruptRow", non_retryable=True)
        return super().account(uin)


@pytest.fixture
def gated(partner_center: SqlPartnerCenter) -> FaultyPartnerCenter:
    return FaultyPartnerCenter(partner_center)


@pytest.fixture
def worker(gated_run: Worker) -> Worker:
    """This module's worker runs over the gated partner center (the ``unbind``
    fixture points the CLI at it)."""
    return gated_run


def repair(parties: Parties, *more: str) -> tuple[str, ...]:
    return ("close-terminated", "--customer", parties.customer, "--as", OPERATOR, *more)


async def confirm_signal(dev_env: WorkflowEnvironment, parties: Parties) -> None:
    """The customer confirms, fire-and-forget: the test holds the story after it."""
    action = ConfirmAction(action_id=uuid.uuid4().hex, actor=parties.customer)
    await handle_for(dev_env, parties.customer).signal("confirm", action)


def record_of(pc: SqlPartnerCenter, parties: Parties) -> UnbindingRecord:
    [record] = pc.records(parties.customer)
    return record


def is_status(status: UnbindStatus) -> Any:
    return lambda record: isinstance(record, UnbindingRecord) and record.status is status


# ---- what the run was doing when it stopped ----------------------------------


async def test_a_terminate_after_the_cutover_committed_leaves_nothing_to_repair(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    gated: FaultyPartnerCenter,
    unbind: Unbind,
) -> None:
    """Terminated after the cutover's transaction committed, before the run
    heard of it: that transaction also wrote the ending (the record COMPLETED
    with the billing boundary, each party's one message), so the repair finds
    nothing open and the stopped run's late report changes nothing. (Runs
    started before the cutover wrote the ending are closed COMPLETED by the
    repair: tests/activities/test_close_stopped.py.)"""
    parties = ledger.direct(card=True)
    committed = gated.hold("cut_over", after=True)
    assert (await apply(unbind, parties)).data["status"] == "PENDING_CUSTOMER_CONFIRMATION"
    await confirm_signal(dev_env, parties)
    await committed.entered()
    record = record_of(partner_center, parties)
    cutover = partner_center.cutover_for(record.application_id)
    assert cutover is not None and partner_center.show(parties.customer)["partner"] is None
    assert record.status is S.COMPLETED and record.effective_at == cutover.effective_at

    await handle_for(dev_env, parties.customer).terminate(reason="pressed by mistake")
    repaired = await unbind(*repair(parties, "--reason", "terminated during the cutover"))

    assert repaired.code == 0 and repaired.data["repairs"] == [], repaired
    reseller = assert_inbox(
        partner_center,
        parties.reseller,
        {"submitted", "customer_decision:confirmed", "completed"},
    )
    assert_inbox(partner_center, parties.customer, {"confirmation_requested", "completed"})
    assert "is now a direct customer" in message(reseller, "completed")["body"]

    committed.release()
    await committed.passed()
    assert record_of(partner_center, parties) == record
    assert len(partner_center.inbox(parties.customer)) == 2


async def test_the_stopped_runs_late_record_save_does_not_reopen_the_record(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    gated: FaultyPartnerCenter,
    unbind: Unbind,
) -> None:
    """Terminated while its save of CUTTING_OVER was in flight (in the cutover's
    own transaction): the repair closes the record, then the save lands and
    changes nothing, and the closed record stops the cutover."""
    parties = ledger.direct(card=True)
    final_check = gated.hold("save_record", when=lambda r: r.status is S.CUTTING_OVER)
    assert (await apply(unbind, parties)).code == 0
    waiting = record_of(partner_center, parties)
    await confirm_signal(dev_env, parties)
    await final_check.entered()
    await handle_for(dev_env, parties.customer).terminate(reason="pressed by mistake")

    repaired = await unbind(*repair(parties))
    assert repaired.code == 0, repaired
    closed = record_of(partner_center, parties)
    assert closed.status is S.CANCELLED and closed.revision == waiting.revision + 1

    final_check.release()
    await final_check.passed()
    assert record_of(partner_center, parties) == closed
    assert partner_center.open_application_for(parties.customer, other_than="-") is None
    assert partner_center.show(parties.customer)["partner"]["uin"] == parties.reseller
    assert_inbox(partner_center, parties.customer, {"confirmation_requested", "cancelled"})


async def test_a_run_that_failed_is_repaired(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    gated: FaultyPartnerCenter,
    unbind: Unbind,
) -> None:
    """A non-retryable fault in an activity fails the execution (FAILED, not
    an application outcome): the record stays open until the repair."""
    parties = ledger.direct(card=True)
    assert (await apply(unbind, parties)).code == 0
    gated.broken = True
    await confirm_signal(dev_env, parties)
    with pytest.raises(WorkflowFailureError):
        await handle_for(dev_env, parties.customer).result()
    assert record_of(partner_center, parties).status is S.PENDING_CUSTOMER_CONFIRMATION

    repaired = await unbind(*repair(parties))

    assert repaired.code == 0, repaired
    [closed] = repaired.data["repairs"]
    assert (closed["execution_status"], closed["status"]) == ("FAILED", "CANCELLED")
    assert closed["closed_now"] is True and closed["notified"] == 2
    gated.broken = False
    assert (await apply(unbind, parties)).data["status"] == "PENDING_CUSTOMER_CONFIRMATION"


async def test_a_run_that_timed_out_is_repaired(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    worker: Worker,
    unbind: Unbind,
) -> None:
    """Started through a raw client with an execution timeout, it times out
    while waiting for the customer: TIMED_OUT, the record open until the repair."""
    parties = ledger.direct(card=True)
    application = ApplicationInput(
        application_id=uuid.uuid4().hex,
        customer_uin=parties.customer,
        initiator_uin=parties.reseller,
        submitter_uin=parties.reseller,
        notice_acknowledged=True,
        acknowledged_at=datetime.now(UTC),
        deadlines=Deadlines(),
    )
    handle = await dev_env.client.start_workflow(
        UnbindingWorkflow.run,
        application,
        id=workflow_id_for(parties.customer),
        task_queue=worker.task_queue,
        execution_timeout=EXECUTION_TIMEOUT,
    )
    submitted = await handle.execute_update(UnbindingWorkflow.submission)
    assert submitted.status is S.PENDING_CUSTOMER_CONFIRMATION, submitted
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert isinstance(failed.value.cause, TimeoutError)

    repaired = await unbind(*repair(parties))

    assert repaired.code == 0, repaired
    [closed] = repaired.data["repairs"]
    assert (closed["execution_status"], closed["status"]) == ("TIMED_OUT", "CANCELLED")
    assert closed["application_id"] == application.application_id
    assert closed["closed_now"] is True and closed["notified"] == 2
    assert_inbox(partner_center, parties.reseller, {"submitted", "cancelled"})


# ---- an application that continued as new ------------------------------------


async def test_a_terminated_continued_application_is_repaired_on_its_latest_run(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    unbind: Unbind,
    lower_history_bound: Callable[[int], None],
) -> None:
    parties = ledger.direct(card=True)
    assert (await apply(unbind, parties)).code == 0
    handle = handle_for(dev_env, parties.customer)
    first_run = (await handle.describe()).run_id
    state = await continued_once(handle, parties, lower_history_bound)
    assert state.runs == 2 and state.status is S.PENDING_CUSTOMER_CONFIRMATION, state
    await handle.terminate(reason="pressed by mistake")
    listed = await eventually(
        lambda: run_statuses(dev_env, parties),
        lambda found: (
            sorted(map(str, found))
            == sorted(
                map(
                    str,
                    [WorkflowExecutionStatus.TERMINATED, WorkflowExecutionStatus.CONTINUED_AS_NEW],
                )
            )
        ),
    )
    assert WorkflowExecutionStatus.TERMINATED in listed, listed

    repaired = await unbind(*repair(parties))

    assert repaired.code == 0, repaired
    [closed] = repaired.data["repairs"]
    latest_run = (await handle.describe()).run_id
    assert latest_run != first_run
    assert (closed["run_id"], closed["execution_status"]) == (latest_run, "TERMINATED")
    assert closed["closed_now"] is True and closed["notified"] == 2
    assert record_of(partner_center, parties).status is S.CANCELLED
    assert_inbox(partner_center, parties.customer, {"confirmation_requested", "cancelled"})
    again = await unbind(*repair(parties))
    assert again.code == 0 and again.data["repairs"] == [], again


async def test_a_terminated_customers_request_tells_its_reseller_too(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    unbind: Unbind,
    worker: Worker,
) -> None:
    """The customer initiated: the reseller, who reviews, hears of the ending as
    it would from the workflow, not only the initiator."""
    parties = ledger.direct(card=True)
    handle, submitted = await submit(
        dev_env.client, worker.task_queue, parties, requested_by=Requester.CUSTOMER
    )
    assert submitted.status is S.PENDING_RESELLER_REVIEW, submitted
    await handle.terminate(reason="pressed by mistake")
    await eventually(
        lambda: run_statuses(dev_env, parties),
        lambda found: WorkflowExecutionStatus.TERMINATED in found,
    )

    repaired = await unbind(*repair(parties))

    assert repaired.code == 0, repaired
    [closed] = repaired.data["repairs"]
    assert closed["closed_now"] is True and closed["notified"] == 2
    assert_inbox(partner_center, parties.customer, {"submitted", "cancelled"})
    assert_inbox(partner_center, parties.reseller, {"reseller_review_requested", "cancelled"})


# ---- repairs that overlap or break off ---------------------------------------


async def test_two_repair_processes_at_once_close_the_record_once(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, ledger: Ledger, unbind: Unbind
) -> None:
    """Two operators run the command together: one closes the record and tells
    the parties; the other finds it closed, before its read (nothing to repair)
    or under the record's lock (already closed, nothing sent)."""
    parties = ledger.second_level(card=True)
    assert (await apply(unbind, parties)).data["status"] == "PENDING_DISTRIBUTOR_REVIEW"
    await handle_for(dev_env, parties.customer).terminate(reason="pressed by mistake")

    results = await asyncio.gather(unbind(*repair(parties)), unbind(*repair(parties)))

    assert all(result.code == 0 for result in results), results
    [closing] = [r for r in results if any(c["closed_now"] for c in r.data["repairs"])]
    assert [(c["status"], c["notified"]) for c in closing.data["repairs"]] == [("CANCELLED", 3)]
    [other] = [r for r in results if r is not closing]
    assert [(c["closed_now"], c["notified"]) for c in other.data["repairs"]] in ([], [(False, 0)])
    assert_inbox(partner_center, parties.customer, {"cancelled"})
    assert_inbox(partner_center, parties.reseller, {"submitted", "cancelled"})
    assert parties.distributor is not None
    assert_inbox(partner_center, parties.distributor, {"review_requested", "cancelled"})


async def test_two_repairs_that_both_found_the_record_open_close_it_once(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    database_url: str,
    ledger: Ledger,
    worker: Worker,
) -> None:
    """Both read the record open and both ask Temporal before either closes it
    (two calls on one event loop, each with its own database connection): the
    later one finds it closed under the lock and reports so, sending nothing."""
    parties = ledger.direct(card=True)
    assert (await apply_through(dev_env, worker, parties)).accepted
    await handle_for(dev_env, parties.customer).terminate(reason="pressed by mistake")
    client = UnbindingClient(dev_env.client, task_queue=worker.task_queue)

    with SqlPartnerCenter(database_url) as other_operator:
        first, second = await asyncio.gather(
            close_terminated(client, partner_center, parties.customer, actor=OPERATOR),
            close_terminated(client, other_operator, parties.customer, actor="operator:bob"),
        )

    done = sorted((r.closed_now, r.notified, r.status) for r in (*first, *second))
    assert done == [(False, 0, S.CANCELLED), (True, 2, S.CANCELLED)], (first, second)
    assert_inbox(partner_center, parties.customer, {"confirmation_requested", "cancelled"})
    assert_inbox(partner_center, parties.reseller, {"submitted", "cancelled"})


async def apply_through(dev_env: WorkflowEnvironment, worker: Worker, parties: Parties) -> Any:
    client = UnbindingClient(dev_env.client, task_queue=worker.task_queue)
    return await client.apply(
        customer_uin=parties.customer, initiator_uin=parties.reseller, notice_acknowledged=True
    )


async def test_a_repair_broken_off_half_way_is_done_once_by_the_next(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    worker: Worker,
    unbind: Unbind,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The repair's steps: read the open records, look up the run, then close the
    record and deliver the messages in one transaction. Broken off after the
    messages were written but before the commit, nothing of it remains."""
    parties = ledger.direct(card=True)
    assert (await apply(unbind, parties)).code == 0
    await handle_for(dev_env, parties.customer).terminate(reason="pressed by mistake")
    deliver_in = activities.sql.repair.deliver_in

    def deliver_then_die(conn: Any, notification: Any) -> int:
        deliver_in(conn, notification)
        raise KeyboardInterrupt("the operator's shell died")

    monkeypatch.setattr(activities.sql.repair, "deliver_in", deliver_then_die)
    client = UnbindingClient(dev_env.client, task_queue=worker.task_queue)
    with pytest.raises(KeyboardInterrupt):
        await close_terminated(client, partner_center, parties.customer, actor=OPERATOR)
    assert record_of(partner_center, parties).status is S.PENDING_CUSTOMER_CONFIRMATION
    assert_inbox(partner_center, parties.customer, {"confirmation_requested"})
    monkeypatch.undo()

    repaired = await unbind(*repair(parties))

    assert repaired.code == 0, repaired
    [closed] = repaired.data["repairs"]
    assert (closed["status"], closed["closed_now"], closed["notified"]) == ("CANCELLED", True, 2)
    assert_inbox(partner_center, parties.customer, {"confirmation_requested", "cancelled"})
    assert_inbox(partner_center, parties.reseller, {"submitted", "cancelled"})


async def test_an_action_sent_to_a_terminated_application_is_refused_at_once(
    dev_env: WorkflowEnvironment, ledger: Ledger, unbind: Unbind
) -> None:
    """Not "may still be accepted, send it again": the run has stopped for good."""
    parties = ledger.direct(card=True)
    assert (await apply(unbind, parties)).code == 0
    await handle_for(dev_env, parties.customer).terminate(reason="pressed by mistake")

    confirmed = await unbind("confirm", "--customer", parties.customer, "--as", parties.customer)

    assert confirmed.code == 1, confirmed
    assert confirmed.data["accepted"] is False
    assert confirmed.data["reason"] == (
        "the application has already ended: its run was stopped (TERMINATED) "
        "in PENDING_CUSTOMER_CONFIRMATION"
    )
