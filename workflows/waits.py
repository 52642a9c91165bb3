"""Waiting for people: the deadline, the reminders owed before it, the
scheduled recheck, and continue-as-new when the history grows long.

Every alarm of a wait is one ``workflow.wait_condition`` with a timeout (a
timer in the history, with a summary the Web UI shows); the order of those
timers, the reminders and the patch markers is what recorded histories replay.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import Enum

from temporalio import workflow

from workflows import metrics, publishing, rules, texts
from workflows.model import Deadlines, UnbindingState, UnbindStatus
from workflows.patches import (
    ANSWER_AFTER_THE_DECISION_PATCH,
    CONTINUE_AS_NEW_PATCH,
    REMINDERS_OWED_PATCH,
    patched,
)
from workflows.settings import SETTINGS
from workflows.state import WorkflowState

S = UnbindStatus


REMINDER = "Reminder"
SCHEDULED_RECHECK = "Scheduled recheck"
DEADLINE = "Deadline"


class Wake(Enum):
    """Why a human wait ended."""

    READY = "ready"
    EXPIRED = "expired"
    AUTO_RECHECK = "auto_recheck"


def wait_length(status: UnbindStatus, deadlines: Deadlines) -> timedelta:
    """How long a human wait lasts, from this application's deadlines."""
    return {
        S.PENDING_RESELLER_REVIEW: deadlines.reseller_review,
        S.PENDING_DISTRIBUTOR_REVIEW: deadlines.distributor_review,
        S.PENDING_CUSTOMER_CONFIRMATION: deadlines.customer_confirmation,
        S.PENDING_CARD_BINDING: deadlines.card_binding,
        S.AWAITING_REMEDIATION: deadlines.remediation,
    }[status]


def awaited_party(state: UnbindingState, status: UnbindStatus) -> str:
    """Who a human wait waits for: told when it begins, reminded before its deadline."""
    if status is S.PENDING_RESELLER_REVIEW:
        assert state.reseller_uin is not None
        return state.reseller_uin
    if status is S.PENDING_DISTRIBUTOR_REVIEW:
        assert state.distributor_uin is not None
        return state.distributor_uin
    if status is S.AWAITING_REMEDIATION:
        return state.initiator_uin
    return state.customer_uin


def reminder_event(status: UnbindStatus, deadline: datetime, at: datetime) -> str:
    """The inbox event of one reminder: delivered once per wait and offset."""
    return f"reminder:{status}:{rules.humanize(deadline - at)}"


def history_is_long() -> bool:
    """The server suggests continuing as new, or the history passed our own bound."""
    info = workflow.info()
    return (
        info.is_continue_as_new_suggested()
        or info.get_current_history_length() >= SETTINGS.continue_as_new_after_events
        or info.get_current_history_size() >= SETTINGS.continue_as_new_after_bytes
    )


class HumanWait:
    """The wait the application is in (``state.public.status``), until ``woken()``
    or the deadline; the awaited party is reminded before it. With
    ``auto_recheck_every`` it also wakes on that schedule. When the history
    grows long it calls ``continue_as_new`` (which does not return) with the
    next scheduled recheck, once running handlers have finished."""

    def __init__(
        self,
        state: WorkflowState,
        *,
        woken: Callable[[], bool],
        continue_as_new: Callable[[datetime | None], None],
        auto_recheck_every: timedelta | None = None,
    ) -> None:
        self._state = state
        self._woken = woken
        self._continue_as_new = continue_as_new
        self._auto_recheck_every = auto_recheck_every

    async def run(self) -> Wake:
        state = self._state
        status, deadline = state.status, state.public.deadline
        assert deadline is not None
        every = self._auto_recheck_every
        recheck_at = workflow.now() + every if every else None
        if recheck_at is not None and state.next_auto_recheck_at is not None:
            recheck_at, state.next_auto_recheck_at = state.next_auto_recheck_at, None
        # The effective date is no one's deadline: nobody is reminded of it.
        reminders = (
            []
            if status is S.AWAITING_EFFECTIVE_DATE
            else rules.reminder_times(
                deadline=deadline,
                reminders_before=state.public.deadlines.reminders_before,
                now=self._reminders_owed_since(status, deadline),
            )
        )
        woken = self._woken
        may_continue = patched(CONTINUE_AS_NEW_PATCH)
        woken_or_long = lambda: woken() or (may_continue and history_is_long())  # noqa: E731
        while True:
            # What the story left for the outside world is written before it rests.
            await publishing.flush(state)
            alarms = {
                t: REMINDER
                for t in reminders
                if reminder_event(status, deadline, t) not in state.reminded
            }
            if recheck_at is not None:
                alarms.setdefault(recheck_at, SCHEDULED_RECHECK)
            alarms[deadline] = DEADLINE
            alarm = min(alarms)
            if woken() and patched(ANSWER_AFTER_THE_DECISION_PATCH):
                # Decided while the wait was announced or a reminder went out:
                # not idle, so no answer yet; the story takes the decision first.
                break
            state.settled = True
            summary = texts.alarm_summary(alarms[alarm], status)
            if await _sleep_until(alarm, woken_or_long, summary):
                if not woken():
                    await self._hand_over_unless_woken(recheck_at)
                break
            if workflow.now() >= deadline:
                return Wake.EXPIRED
            if alarms[alarm] == REMINDER:
                # Even when the worker was down past several alarms, every
                # reminder still due goes out, earliest first.
                await self._remind(status, deadline, alarm)
                continue
            state.settled = False
            return Wake.AUTO_RECHECK
        state.settled = False
        return Wake.READY

    def _reminders_owed_since(self, status: UnbindStatus, deadline: datetime) -> datetime:
        """Reminders due since the wait began are still owed, even those that fell
        due while the state was being entered (worker down, database slow)."""
        if not patched(REMINDERS_OWED_PATCH):
            return workflow.now()
        return deadline - wait_length(status, self._state.public.deadlines)

    async def _remind(self, status: UnbindStatus, deadline: datetime, at: datetime) -> None:
        state = self._state
        event = reminder_event(status, deadline, at)
        state.reminded.append(event)
        metrics.reminder_sent(status.value)
        await publishing.notify(
            state,
            event,
            [awaited_party(state.public, status)],
            texts.reminder(state.public.customer_uin, status, deadline),
        )

    async def _hand_over_unless_woken(self, recheck_at: datetime | None) -> None:
        """A flood of actions cannot grow one history towards Temporal's limits:
        hand over to a fresh run. Returns only when an action arrived meanwhile."""
        await workflow.wait_condition(lambda: self._woken() or workflow.all_handlers_finished())
        if not self._woken():
            self._continue_as_new(recheck_at)


async def _sleep_until(until: datetime, woken: Callable[[], bool], summary: str) -> bool:
    """True when ``woken()`` came true before ``until``."""
    remaining = until - workflow.now()
    if remaining <= timedelta(0):
        return woken()
    try:
        await workflow.wait_condition(woken, timeout=remaining, timeout_summary=summary)
    except TimeoutError:
        return woken()
    return True
