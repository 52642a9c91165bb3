"""Closing the record of an application whose workflow was terminated
(``unbind close-terminated``), on the real partner center."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.activities.conftest import SeededLedger
from workflows.model import UnbindStatus

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


def test_a_record_stopped_after_its_cutover_closes_as_completed(seeded: SeededLedger) -> None:
    pc = seeded.center
    record = seeded.record(status=S.CUTTING_OVER)
    pc.save_record(record)
    cutover = pc.cut_over(seeded.cutover(record.application_id))

    closure = pc.close_stopped_application(record.application_id, at=AT)

    assert closure is not None and closure.closed_now
    assert closure.record.status is S.COMPLETED
    assert closure.record.effective_at == cutover.effective_at


def test_a_closed_or_missing_record_is_left_alone(seeded: SeededLedger) -> None:
    pc = seeded.center
    record = seeded.record(status=S.WITHDRAWN)
    pc.save_record(record)

    closure = pc.close_stopped_application(record.application_id, at=AT)

    assert closure is not None and not closure.closed_now
    assert closure.record == record
    assert pc.close_stopped_application("app-unknown", at=AT) is None
