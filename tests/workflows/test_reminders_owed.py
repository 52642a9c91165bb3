"""A reminder that falls due while the waiting state is still being entered
(the worker down or the database slow during the record and notification
activities) is still sent once, before the deadline. Found by the fault suite
(``make chaos``, worker kills): such reminders used to be dropped. Once the
deadline itself has passed, no reminder of it goes out: the expiry is told."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from tests.conftest import Ledger, running_worker
from tests.workflows.scenarios import submit
from workflows.model import Deadlines, Notification, Outbox, UnbindStatus

S = UnbindStatus
pytestmark = pytest.mark.timeskipping

DEADLINE = timedelta(minutes=1)
REMINDERS_BEFORE = (timedelta(seconds=55), timedelta(seconds=50))
# Notify retries back off 1 + 2 + 4 + 8 s (the first two inside the worker, the
# others on durable timers: ``LOCAL_RETRY_THRESHOLD``): the wait begins 15 s
# after the state was entered, past both reminders (due 5 s and 10 s after it).
FAILED_ATTEMPTS = 4
# Two more (+ 16 + 32 s): the wait begins 63 s after, past its 1-minute deadline.
FAILED_PAST_THE_DEADLINE = 6


class SlowToNotify(SqlPartnerCenter):
    """The partner center is unavailable for the confirmation request's first
    attempts, as it would be while the database is locked."""

    def __init__(self, url: str, failing: int = FAILED_ATTEMPTS) -> None:
        super().__init__(url)
        self.failing = failing
        self.failures = 0

    def deliver(self, notification: Notification) -> int:
        if notification.event == "confirmation_requested" and self.failures < self.failing:
            self.failures += 1
            raise ConnectionError("partner center unavailable")
        return super().deliver(notification)

    def commit(self, outbox: Outbox) -> int:
        asked = any(n.event == "confirmation_requested" for n in outbox.notifications)
        if asked and self.failures < self.failing:
            self.failures += 1
            raise ConnectionError("partner center unavailable")
        return super().commit(outbox)


async def test_reminders_due_before_the_wait_began_are_still_sent(
    time_skipping_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    executor: ThreadPoolExecutor,
) -> None:
    parties = ledger.direct()
    slow = SlowToNotify(partner_center.url)
    deadlines = Deadlines(customer_confirmation=DEADLINE, reminders_before=REMINDERS_BEFORE)
    try:
        async with running_worker(time_skipping_env.client, slow, executor) as worker:
            handle, submitted = await submit(
                time_skipping_env.client, worker.task_queue, parties, deadlines=deadlines
            )
            assert submitted.status is S.PENDING_CUSTOMER_CONFIRMATION
            outcome = await handle.result()
    finally:
        slow.dispose()

    assert slow.failures == FAILED_ATTEMPTS
    assert outcome.status is S.EXPIRED
    messages = partner_center.inbox(parties.customer)
    events = [m["event"] for m in messages]
    assert events == [
        "confirmation_requested",
        f"reminder:{S.PENDING_CUSTOMER_CONFIRMATION}:55s",
        f"reminder:{S.PENDING_CUSTOMER_CONFIRMATION}:50s",
        "expired",
    ]
    entered = next(t.at for t in outcome.transitions if t.status is S.PENDING_CUSTOMER_CONFIRMATION)
    reminded = [datetime.fromisoformat(m["at"]) for m in messages[1:3]]
    # Sent as soon as the wait began, well before the deadline.
    assert all(entered + timedelta(seconds=10) < at < entered + DEADLINE for at in reminded)


async def test_no_reminder_once_the_deadline_has_passed(
    time_skipping_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    executor: ThreadPoolExecutor,
) -> None:
    """A reminder to answer by a time already gone would mislead: the wait that begins past
    its deadline expires at once, and the customer hears of the expiry only."""
    parties = ledger.direct()
    slow = SlowToNotify(partner_center.url, failing=FAILED_PAST_THE_DEADLINE)
    deadlines = Deadlines(customer_confirmation=DEADLINE, reminders_before=REMINDERS_BEFORE)
    try:
        async with running_worker(time_skipping_env.client, slow, executor) as worker:
            handle, submitted = await submit(
                time_skipping_env.client, worker.task_queue, parties, deadlines=deadlines
            )
            # Answered once the story rests: by then the wait has expired.
            assert submitted.accepted
            outcome = await handle.result()
    finally:
        slow.dispose()

    assert slow.failures == FAILED_PAST_THE_DEADLINE
    assert outcome.status is S.EXPIRED
    events = [m["event"] for m in partner_center.inbox(parties.customer)]
    assert events == ["confirmation_requested", "expired"]
