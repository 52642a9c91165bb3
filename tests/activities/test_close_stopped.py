"""Closing the record of an application whose workflow was terminated
(``unbind close-terminated``), on the real partner center."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import activities.sql.repair
from activities.partner_center import RelationshipConflict
from activities.sql import RecordClosure, SqlPartnerCenter
from tests.activities.conftest import SeededLedger
from tests.activities.test_partner_center import run_in_threads
from workflows.model import Notification, Outbox, UnbindingRecord, UnbindStatus

S = UnbindStatus
AT = datetime(2025, 3, 2, 9, 0, tzinfo=UTC)


def test_a_record_left_waiting_closes_as_cancelled_once(seeded: SeededLedger) -> None:
    pc = seeded.center
    record = seeded.record(status=S.AWAITING_REMEDIATION, deadline=AT)
    pc.save_record(record)

    closure = pc.close_stopped_application(record.application_id, at=AT)

    assert closure is not None and closure.closed_now
    assert closure.record.status is S.CANCELLED
    assert closure.record.deadline is None and closure.record.effective_at is None
    [stored] = pc.records(seeded.customer)
    assert stored == closure.record
    assert stored.revision == record.revision + 1
    assert pc.open_application_for(seeded.customer, other_than="a-new-one") is None
    # Repeated: nothing changes, and a late write of the old state cannot reopen it.
    again = pc.close_stopped_application(record.application_id, at=AT)
    assert again is not None and not again.closed_now and again.record == stored
    pc.save_record(record)
    assert pc.records(seeded.customer) == [stored]


def ending_message(closed: UnbindingRecord) -> Notification:
    return Notification(
        application_id=closed.application_id,
        workflow_id=closed.workflow_id,
        event=closed.status.lower(),
        recipients=(closed.customer_uin,),
        subject=f"ended {closed.status}",
        body=f"billing boundary {closed.effective_at}",
        at=AT,
    )


def test_the_ending_message_goes_out_with_the_closing_once(seeded: SeededLedger) -> None:
    pc = seeded.center
    record = seeded.record(status=S.PENDING_CARD_BINDING)
    pc.save_record(record)

    closure = pc.close_stopped_application(record.application_id, at=AT, announce=ending_message)
    again = pc.close_stopped_application(record.application_id, at=AT, announce=ending_message)

    assert closure is not None and closure.notified == 1
    assert again is not None and again.notified == 0 and not again.closed_now
    assert [m["event"] for m in pc.inbox(seeded.customer)] == ["cancelled"]


def test_a_closed_or_missing_record_is_left_alone(seeded: SeededLedger) -> None:
    pc = seeded.center
    record = seeded.record(status=S.WITHDRAWN)
    pc.save_record(record)

    closure = pc.close_stopped_application(record.application_id, at=AT)

    assert closure is not None and not closure.closed_now
    assert closure.record == record
    assert pc.close_stopped_application("app-unknown", at=AT) is None


# ---- the repair against a late cutover attempt: exactly one of them wins ----------


def test_a_cutover_attempt_landing_after_the_repair_is_refused(seeded: SeededLedger) -> None:
    pc = seeded.center
    record = seeded.record(status=S.CUTTING_OVER)
    pc.save_record(record)

    closure = pc.close_stopped_application(record.application_id, at=AT)
    assert closure is not None and closure.record.status is S.CANCELLED

    with pytest.raises(RelationshipConflict, match="CANCELLED"):
        pc.cut_over(seeded.cutover(record.application_id))
    assert pc.show(seeded.customer)["partner"]["uin"] == seeded.reseller
    assert pc.cutover_for(record.application_id) is None
    [stored] = pc.records(seeded.customer)
    assert stored.status is S.CANCELLED


def test_a_repair_after_the_cutover_committed_reports_it_completed(seeded: SeededLedger) -> None:
    pc = seeded.center
    record = seeded.record(status=S.CUTTING_OVER)
    pc.save_record(record)
    cutover = pc.cut_over(seeded.cutover(record.application_id))

    closure = pc.close_stopped_application(record.application_id, at=AT)

    assert closure is not None and closure.closed_now
    assert closure.record.status is S.COMPLETED
    assert closure.record.effective_at == cutover.effective_at
    assert pc.show(seeded.customer)["partner"] is None


def test_a_repair_racing_a_cutover_agrees_with_the_ledger(
    seeded: SeededLedger, database_url: str
) -> None:
    """Whichever commits first, the record and the ledger tell the same story."""
    pc = seeded.center
    with SqlPartnerCenter(database_url) as other_process:
        for round_ in range(6):
            application_id = f"app-race-{round_:04d}"
            pc.add_customer(seeded.customer, partner_uin=seeded.reseller)
            pc.save_record(seeded.record(application_id, status=S.CUTTING_OVER))

            def attempt(index: int, application_id: str = application_id) -> object:
                if index == 0:
                    return other_process.close_stopped_application(
                        application_id, at=AT, announce=ending_message
                    )
                try:
                    return pc.cut_over(seeded.cutover(application_id))
                except RelationshipConflict as refused:
                    return refused

            closure, cutover = run_in_threads(2, attempt)
            assert isinstance(closure, RecordClosure) and closure.notified == 1
            [told] = [m for m in pc.inbox(seeded.customer) if m["application_id"] == application_id]
            assert told["event"] == closure.record.status.lower()
            bound = pc.show(seeded.customer)["partner"]
            if isinstance(cutover, RelationshipConflict):
                assert closure.record.status is S.CANCELLED
                assert bound is not None and pc.cutover_for(application_id) is None
            else:
                assert closure.record.status is S.COMPLETED
                assert closure.record.effective_at == cutover.effective_at  # type: ignore[attr-defined]
                assert bound is None


# ---- what the runbook promises of the repair itself -------------------------------


def test_two_repairs_at_once_close_the_record_once(seeded: SeededLedger, database_url: str) -> None:
    pc = seeded.center
    record = seeded.record(status=S.PENDING_CUSTOMER_CONFIRMATION)
    pc.save_record(record)

    with SqlPartnerCenter(database_url) as other_operator:
        operators = (pc, other_operator)
        closures = run_in_threads(
            2,
            lambda index: operators[index].close_stopped_application(
                record.application_id, at=AT, announce=ending_message
            ),
        )

    assert all(isinstance(c, RecordClosure) for c in closures)
    done = sorted((c.closed_now, c.notified) for c in closures)  # type: ignore[attr-defined]
    assert done == [(False, 0), (True, 1)]
    assert [m["event"] for m in pc.inbox(seeded.customer)] == ["cancelled"]
    [stored] = pc.records(seeded.customer)
    assert stored.revision == record.revision + 1


def test_a_repair_broken_off_before_its_commit_leaves_nothing_behind(
    seeded: SeededLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its steps (lock the record, look for the cutover, close the record, write
    the messages) are one transaction: broken off after the last, nothing of it
    remains, and the next repair does it once."""
    pc = seeded.center
    record = seeded.record(status=S.AWAITING_REMEDIATION, deadline=AT)
    pc.save_record(record)
    deliver_in = activities.sql.repair.deliver_in

    def deliver_then_die(conn: Any, notification: Notification) -> int:
        deliver_in(conn, notification)
        raise KeyboardInterrupt("the operator's shell died")

    monkeypatch.setattr(activities.sql.repair, "deliver_in", deliver_then_die)
    with pytest.raises(KeyboardInterrupt):
        pc.close_stopped_application(record.application_id, at=AT, announce=ending_message)
    monkeypatch.undo()
    assert pc.records(seeded.customer) == [record]
    assert pc.inbox(seeded.customer) == []

    closure = pc.close_stopped_application(record.application_id, at=AT, announce=ending_message)

    assert closure is not None and closure.closed_now and closure.notified == 1
    assert [m["event"] for m in pc.inbox(seeded.customer)] == ["cancelled"]


@pytest.mark.parametrize("later", [1, 5], ids=["next_revision", "a_later_revision"])
def test_the_stopped_runs_late_save_does_not_reopen_the_record(
    seeded: SeededLedger, later: int
) -> None:
    """The run was stopped while saving its next state: that save lands after
    the repair closed the record (with the very revision the repair wrote, or
    any later one) and must leave it closed."""
    pc = seeded.center
    record = seeded.record(status=S.PENDING_CUSTOMER_CONFIRMATION, deadline=AT)
    pc.save_record(record)
    closure = pc.close_stopped_application(record.application_id, at=AT)
    assert closure is not None and closure.closed_now

    pc.save_record(
        record.model_copy(
            update={"status": S.FINAL_CHECK, "deadline": None, "revision": record.revision + later}
        )
    )

    assert pc.records(seeded.customer) == [closure.record]
    assert pc.open_application_for(seeded.customer, other_than="a-new-one") is None


def test_the_stopped_runs_late_commit_tells_no_one(seeded: SeededLedger) -> None:
    """The run was stopped while committing the customer's confirmation: its
    record and its messages land after the repair told everyone of the
    closing, and neither is taken (a confirmation after "cancelled" would
    contradict it)."""
    pc = seeded.center
    record = seeded.record(status=S.PENDING_CUSTOMER_CONFIRMATION, deadline=AT)
    pc.save_record(record)
    closure = pc.close_stopped_application(record.application_id, at=AT, announce=ending_message)
    assert closure is not None and closure.notified == 1
    confirmed = record.model_copy(
        update={"status": S.PENDING_CARD_BINDING, "revision": record.revision + 1}
    )
    late = Outbox(record=confirmed, notifications=[seeded.notification("customer_decision")])

    assert pc.commit(late) == 0
    refused = seeded.cutover(record.application_id).model_copy(update={"outbox": late})
    with pytest.raises(RelationshipConflict, match="CANCELLED"):
        pc.cut_over(refused)

    assert pc.records(seeded.customer) == [closure.record]
    assert [m["event"] for m in pc.inbox(seeded.customer)] == ["cancelled"]


def test_a_commit_repeated_on_its_own_closing_still_delivers(seeded: SeededLedger) -> None:
    """The guard is for another status only: a closing written again with its
    own messages (an activity retried after its commit) is the same story."""
    pc = seeded.center
    ended = seeded.record(status=S.WITHDRAWN, revision=3)
    pc.save_record(ended)

    withdrawn = seeded.notification("withdrawn", recipients=(seeded.customer,))
    delivered = pc.commit(Outbox(record=ended, notifications=[withdrawn]))

    assert delivered == 1
    assert [m["event"] for m in pc.inbox(seeded.customer)] == ["withdrawn"]
