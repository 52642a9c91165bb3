"""The unbinding workflow: one execution per application, start to finish.

``run`` reads as the help page's story, in order: check the preconditions,
let the distributor review (second-level resellers only), let the customer
confirm, have a card bound, check again, then cut over for good.

People's actions arrive as signals or updates; both go through the same
validation (``workflows.rules``). Every human wait has a deadline that turns
into an ``EXPIRED`` outcome, with reminders before it. An operator's cancel
ends a waiting application as ``CANCELLED``; once the cutover has started it
is recorded and ignored, because the cutover cannot be undone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from activities.unbinding import UnbindingActivities
    from workflows import rules
    from workflows import search_attributes as sa
    from workflows.actions import ACTIONS
    from workflows.contract import ACTION_REFUSED, INVALID_ACTION, INVALID_APPLICATION
    from workflows.model import (
        AccountCheckRequest,
        Action,
        ActionKind,
        ActionResult,
        ApplicationInput,
        CardBoundAction,
        CardCheckRequest,
        CarriedOver,
        ConfirmAction,
        CutoverRequest,
        FailedCheck,
        Notification,
        PrecheckRequest,
        RecheckAction,
        RejectAction,
        RememberedAnswer,
        ReviewAction,
        SubmissionResult,
        TimelineEntry,
        Transition,
        UnbindingRecord,
        UnbindingState,
        UnbindStatus,
        WithdrawAction,
    )
    from workflows.settings import SETTINGS, ActivityPolicy

SYSTEM = "system"
S = UnbindStatus


# The human waits in story order: a continued run resumes in one of them and
# skips the steps before it.
RESUMABLE_WAITS = (
    S.PENDING_DISTRIBUTOR_REVIEW,
    S.PENDING_CUSTOMER_CONFIRMATION,
    S.PENDING_CARD_BINDING,
    S.AWAITING_REMEDIATION,
)
# Histories recorded before continue-as-new existed must replay without it.
CONTINUE_AS_NEW_PATCH = "continue-as-new-when-history-is-long"
# Histories recorded before reminders were owed from the start of the wait
# (not from when the wait's timers were set) must replay without it.
REMINDERS_OWED_PATCH = "reminders-owed-since-the-wait-began"


class _Wake(Enum):
    """Why a human wait ended."""

    READY = "ready"
    EXPIRED = "expired"
    AUTO_RECHECK = "auto_recheck"


class _Ended(Exception):
    """Raised inside the story once the application reached a terminal state."""


WAITING_FOR: dict[UnbindStatus, str] = {
    S.PENDING_DISTRIBUTOR_REVIEW: "the distributor to review the application",
    S.PENDING_CUSTOMER_CONFIRMATION: "the customer to confirm or reject",
    S.PENDING_CARD_BINDING: "the customer to bind a card",
    S.AWAITING_REMEDIATION: "the initiator to fix the failed checks",
}


_Parsed = TypeVar("_Parsed", bound=BaseModel)


def _one_message(
    model: type[_Parsed], payload: tuple[Any, ...], *, carrier: str, name: str, error_type: str
) -> _Parsed:
    """The one message a start, signal or update carries, or a non-retryable
    error naming every field that is wrong."""
    if len(payload) != 1:
        raise ApplicationError(
            f"{carrier} carries exactly one {name}, got {len(payload)}",
            type=error_type,
            non_retryable=True,
        )
    try:
        return model.model_validate(payload[0])
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or name}: {e['msg']}"
            for e in error.errors()
        )
        raise ApplicationError(
            f"invalid {name}: {problems}", type=error_type, non_retryable=True
        ) from None


@workflow.defn(name="Unbinding")
class UnbindingWorkflow:
    """A reseller ends its reselling relationship with one sub-customer."""

    @workflow.init
    def __init__(self, *payload: Any) -> None:
        """Takes one :class:`ApplicationInput`, validated here rather than by
        the SDK: a malformed start sent through a raw client would otherwise
        fail the first workflow task forever. This way the run fails at once,
        naming the field, with nothing checked, written or notified.

        A continued run is different: its input is this workflow's own
        hand-over, so a refusal there is a bug in a newer worker, not the
        caller's mistake. Its workflow task fails and is retried until a fixed
        worker takes it, instead of failing an application in mid-process."""
        try:
            application = _one_message(
                ApplicationInput,
                payload,
                carrier="a start",
                name="application",
                error_type=INVALID_APPLICATION,
            )
        except ApplicationError as refusal:
            if workflow.info().continued_run_id is None:
                raise
            raise RuntimeError(f"a continued run's {refusal.message}") from None
        self._input = application
        self._state = UnbindingState(
            application_id=application.application_id,
            workflow_id=workflow.info().workflow_id,
            customer_uin=application.customer_uin,
            initiator_uin=application.initiator_uin,
            submitter_uin=application.submitter_uin,
            submitted_at=workflow.now(),
            notice_acknowledged_by=application.submitter_uin,
            notice_acknowledged_at=application.acknowledged_at,
            reason=application.reason,
            deadlines=application.deadlines,
        )
        self._roles = rules.Roles(application.customer_uin, application.initiator_uin)
        # Accepted decisions, consumed by the story in `run`.
        self._review: ReviewAction | None = None
        self._customer_decision: ConfirmAction | RejectAction | None = None
        self._card_claim: CardBoundAction | None = None
        self._recheck: RecheckAction | None = None
        self._withdrawal: WithdrawAction | None = None
        # Answers by action id, so a repeated action has no second effect.
        self._seen: set[str] = set()
        self._answers: dict[str, tuple[bool, str | None]] = {}
        # False while the story has work to do; updates answer once it is
        # back to waiting for people (or ended), with the status that results.
        self._settled = False
        self._validated = False
        self._revision = 0
        self._reminded: set[str] = set()
        self._notified_checks: list[FailedCheck] | None = None
        # A continued run (the previous one's history grew long) resumes in
        # the wait the previous run left, without re-entering or re-notifying.
        self._resume_in: UnbindStatus | None = None
        self._next_auto_recheck_at: datetime | None = None
        carried = application.carried_over
        if carried is not None and workflow.info().continued_run_id is not None:
            self._restore(carried)

    def _restore(self, carried: CarriedOver) -> None:
        self._state = carried.state.model_copy(update={"runs": carried.state.runs + 1})
        self._roles = rules.Roles(
            self._input.customer_uin, self._input.initiator_uin, self._state.distributor_uin
        )
        self._validated = True
        self._revision = carried.revision
        self._reminded = set(carried.reminded)
        self._notified_checks = carried.notified_checks
        self._answers = {a.action_id: (a.accepted, a.reason) for a in carried.answers}
        self._seen = set(self._answers)
        self._next_auto_recheck_at = carried.next_auto_recheck_at
        self._resume_in = self._state.status

    # ---- the story --------------------------------------------------------

    @workflow.run
    async def run(self, *payload: Any) -> UnbindingState:
        """``payload`` is the one :class:`ApplicationInput`, already taken by ``__init__``."""
        try:
            await self._check_preconditions()
            await self._wait_for_distributor_review()
            await self._wait_for_customer_decision()
            await self._wait_for_card_binding()
            await self._check_again_until_remedied()
            await self._cut_over_despite_cancel()
        except _Ended:
            pass
        except BaseException as err:
            if not is_cancelled_exception(err):
                raise
            await self._on_cancel()
        self._settled = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    async def _check_preconditions(self) -> None:
        if self._resume_in is not None:
            return
        result = await self._call(
            UnbindingActivities.check_application,
            PrecheckRequest(
                application_id=self._input.application_id,
                customer_uin=self._input.customer_uin,
                initiator_uin=self._input.initiator_uin,
                submitter_uin=self._input.submitter_uin,
            ),
            summary="Check the unbinding preconditions",
        )
        self._state.failed_checks = list(result.failed_checks)
        if result.failed_checks or result.parties is None:
            await self._end(S.PRECHECK_FAILED, "preconditions not met")
        parties = result.parties
        assert parties is not None
        self._state.reseller_uin = parties.reseller_uin
        self._state.partner_kind = parties.partner_kind
        self._state.distributor_uin = parties.distributor_uin
        self._state.card_bound = result.card_bound
        self._roles = rules.Roles(
            self._input.customer_uin, self._input.initiator_uin, parties.distributor_uin
        )
        self._validated = True
        await self._end_if_withdrawn()
        await self._notify(
            "submitted",
            [self._input.initiator_uin],
            "Unbinding application submitted",
            f"Your application to unbind customer {self._input.customer_uin} passed the "
            "precondition checks.",
        )

    async def _wait_for_distributor_review(self) -> None:
        assert self._state.partner_kind is not None
        if rules.first_wait(self._state.partner_kind) is not S.PENDING_DISTRIBUTOR_REVIEW:
            return
        if self._resumes_past(S.PENDING_DISTRIBUTOR_REVIEW):
            return
        await self._ask(
            S.PENDING_DISTRIBUTOR_REVIEW,
            "review_requested",
            "Review an unbinding application",
            f"Reseller {self._input.initiator_uin} applied to unbind customer "
            f"{self._input.customer_uin}. Please approve or reject.",
        )
        if await self._wait_for_people(lambda: self._review is not None) is _Wake.EXPIRED:
            await self._end(S.EXPIRED, "the distributor did not review in time")
        review = self._review
        assert review is not None
        verdict = "approved" if review.approve else "rejected"
        await self._notify(
            f"review_decision:{verdict}",
            [self._input.initiator_uin],
            f"Distributor {verdict} the unbinding application",
            self._with_reason(f"Distributor {review.actor} {verdict} the application.", review),
        )
        if not review.approve:
            await self._end(S.DISTRIBUTOR_REJECTED, review.reason)

    async def _wait_for_customer_decision(self) -> None:
        if self._resumes_past(S.PENDING_CUSTOMER_CONFIRMATION):
            return
        await self._ask(
            S.PENDING_CUSTOMER_CONFIRMATION,
            "confirmation_requested",
            "Confirm or reject an unbinding application",
            f"Your reseller {self._input.initiator_uin} applied to end its reselling "
            "relationship with you. Confirm or reject it in Expense Center > Account "
            "Information.",
        )
        ready = lambda: self._customer_decision is not None  # noqa: E731
        if await self._wait_for_people(ready) is _Wake.EXPIRED:
            await self._end(S.EXPIRED, "the customer did not confirm in time")
        decision = self._customer_decision
        confirmed = isinstance(decision, ConfirmAction)
        verdict = "confirmed" if confirmed else "rejected"
        # The help page: the initiator receives a system message either way.
        await self._notify(
            f"customer_decision:{verdict}",
            self._parties(without=self._input.customer_uin),
            f"Customer {verdict} the unbinding application",
            self._with_reason(f"Customer {self._input.customer_uin} {verdict}.", decision),
        )
        if not confirmed:
            assert isinstance(decision, RejectAction)
            await self._end(S.CUSTOMER_REJECTED, decision.reason)

    async def _wait_for_card_binding(self) -> None:
        if rules.after_confirmation(bool(self._state.card_bound)) is S.FINAL_CHECK:
            return
        if self._resumes_past(S.PENDING_CARD_BINDING):
            return
        await self._ask(
            S.PENDING_CARD_BINDING,
            "card_binding_requested",
            "Bind a card to complete the unbinding",
            "Bind a credit card to your account so that you can be billed directly.",
        )
        while True:
            if await self._wait_for_people(lambda: self._card_claim is not None) is _Wake.EXPIRED:
                await self._end(S.EXPIRED, "the customer did not bind a card in time")
            claim = self._card_claim
            assert claim is not None
            # The signal alone proves nothing: ask the partner center.
            bound = await self._call(
                UnbindingActivities.check_card,
                CardCheckRequest(customer_uin=self._input.customer_uin),
                summary="Verify the customer's card binding",
            )
            reason = None if bound else "no card is bound in the partner center"
            self._log(claim.actor, claim.kind, bound, reason, claim.action_id)
            self._answers[claim.action_id] = (bound, reason)
            self._card_claim = None
            if bound:
                self._state.card_bound = True
                return

    async def _check_again_until_remedied(self) -> None:
        remediation_deadline: datetime | None = None
        if self._resume_in is S.AWAITING_REMEDIATION:
            remediation_deadline = self._state.deadline
        while True:
            if not self._resumed(S.AWAITING_REMEDIATION):
                await self._enter(S.FINAL_CHECK)
                result = await self._call(
                    UnbindingActivities.check_account,
                    AccountCheckRequest(
                        application_id=self._input.application_id,
                        customer_uin=self._input.customer_uin,
                    ),
                    summary="Re-check the customer account before cutover",
                )
                self._state.failed_checks = list(result.failed_checks)
                await self._end_if_withdrawn()
                if rules.after_final_check(result.failed_checks) is S.CUTTING_OVER:
                    return
                if remediation_deadline is None:
                    remediation_deadline = workflow.now() + self._wait_length(
                        S.AWAITING_REMEDIATION
                    )
                await self._enter(S.AWAITING_REMEDIATION, deadline=remediation_deadline)
                if self._notified_checks != self._state.failed_checks:
                    self._notified_checks = list(self._state.failed_checks)
                    await self._notify(
                        f"final_check_failed:{len(self._state.transitions)}",
                        [self._input.initiator_uin],
                        "Unbinding is waiting for a fix",
                        "The final check failed:\n"
                        + "\n".join(f"- {c.check}: {c.hint}" for c in self._state.failed_checks)
                        + "\nFix the account, then ask for a recheck.",
                    )
            wake = await self._wait_for_people(
                lambda: self._recheck is not None,
                auto_recheck_every=self._state.deadlines.auto_recheck_every,
            )
            if wake is _Wake.EXPIRED:
                await self._end(S.EXPIRED, "the failed checks were not fixed in time")
            if wake is _Wake.AUTO_RECHECK:
                self._log(SYSTEM, ActionKind.RECHECK, True, "scheduled recheck")
            self._recheck = None

    async def _cut_over_despite_cancel(self) -> None:
        """From here on nothing may interrupt: a cancel is logged and ignored."""
        cutover = asyncio.create_task(self._cut_over())
        while not cutover.done():
            try:
                await asyncio.shield(cutover)
            except asyncio.CancelledError:
                if cutover.cancelled():
                    raise
                self._log(SYSTEM, "cancel", False, "cutover in progress: cancel ignored")

    async def _cut_over(self) -> None:
        """Irreversible: the customer becomes a direct customer of the provider
        and the reseller customer agreement is invalidated, together."""
        await self._enter(S.CUTTING_OVER)
        assert self._state.reseller_uin is not None
        try:
            result = await self._call(
                UnbindingActivities.cut_over,
                CutoverRequest(
                    application_id=self._input.application_id,
                    customer_uin=self._input.customer_uin,
                    reseller_uin=self._state.reseller_uin,
                ),
                summary="Cut over: end the reselling relationship, invalidate the agreement",
                policy=SETTINGS.cutover,
            )
        except ActivityError as err:
            await self._end(S.FAILED, str(err.cause or err), raise_ended=False)
            return
        self._state.effective_at = result.effective_at
        await self._end(S.COMPLETED, None, raise_ended=False)

    # ---- waiting for people ----------------------------------------------

    async def _ask(self, status: UnbindStatus, event: str, subject: str, body: str) -> None:
        """Enter a human wait and tell the party it waits for."""
        if self._resumed(status):
            return
        await self._enter(status, deadline=workflow.now() + self._wait_length(status))
        await self._notify(event, [self._awaited_party(status)], subject, body)

    async def _wait_for_people(
        self, ready: Callable[[], bool], *, auto_recheck_every: timedelta | None = None
    ) -> _Wake:
        """Wait until ``ready()``, a withdrawal, or the deadline; remind the awaited
        party before the deadline. A withdrawal ends the application here."""
        status, deadline = self._state.status, self._state.deadline
        assert deadline is not None
        recheck_at = workflow.now() + auto_recheck_every if auto_recheck_every else None
        if recheck_at is not None and self._next_auto_recheck_at is not None:
            recheck_at, self._next_auto_recheck_at = self._next_auto_recheck_at, None
        reminders = rules.reminder_times(
            deadline=deadline,
            reminders_before=self._state.deadlines.reminders_before,
            now=self._reminders_owed_since(status, deadline),
        )
        woken = lambda: ready() or self._withdrawal is not None  # noqa: E731
        may_continue = workflow.patched(CONTINUE_AS_NEW_PATCH)
        woken_or_long = lambda: woken() or (may_continue and history_is_long())  # noqa: E731
        while True:
            alarms = {
                t: "Reminder"
                for t in reminders
                if self._reminder_event(status, deadline, t) not in self._reminded
            }
            if recheck_at is not None:
                alarms.setdefault(recheck_at, "Scheduled recheck")
            alarms[deadline] = "Deadline"
            alarm = min(alarms)
            self._settled = True
            summary = f"{alarms[alarm]} while waiting for {WAITING_FOR[status]}"
            if await self._sleep_until(alarm, woken_or_long, summary):
                if not woken():
                    await self._continue_as_new(woken, recheck_at)
                break
            if workflow.now() >= deadline:
                return _Wake.EXPIRED
            if alarms[alarm] == "Reminder":
                # Even when the worker was down past several alarms, every
                # reminder still due goes out, earliest first.
                await self._remind(status, deadline, alarm)
                continue
            self._settled = False
            return _Wake.AUTO_RECHECK
        self._settled = False
        await self._end_if_withdrawn()
        return _Wake.READY

    async def _sleep_until(self, until: datetime, woken: Callable[[], bool], summary: str) -> bool:
        """True when ``woken()`` came true before ``until``."""
        remaining = until - workflow.now()
        if remaining <= timedelta(0):
            return woken()
        try:
            await workflow.wait_condition(woken, timeout=remaining, timeout_summary=summary)
        except TimeoutError:
            return woken()
        return True

    async def _continue_as_new(
        self, woken: Callable[[], bool], recheck_at: datetime | None
    ) -> None:
        """Hand the whole state to a fresh run that resumes in this same wait,
        with the same absolute deadline and the reminders already sent: a flood
        of actions cannot grow one history towards Temporal's limits. Returns
        only when an action arrived meanwhile."""
        await workflow.wait_condition(lambda: woken() or workflow.all_handlers_finished())
        if woken():
            return
        workflow.continue_as_new(
            self._input.model_copy(update={"carried_over": self._carry_over(recheck_at)})
        )

    def _carry_over(self, recheck_at: datetime | None) -> CarriedOver:
        """The state, with what is remembered of earlier actions bounded."""
        state = self._state.model_copy(deep=True)
        # Accepted entries are the audit trail: refusals make room first.
        limit = SETTINGS.carried_timeline_entries
        accepted_at = [i for i, e in enumerate(state.timeline) if e.accepted][-limit:]
        room = limit - len(accepted_at)
        refused_at = [i for i, e in enumerate(state.timeline) if not e.accepted]
        kept_at = set(accepted_at) | set(refused_at[-room:] if room > 0 else [])
        timeline = [e for i, e in enumerate(state.timeline) if i in kept_at]
        transitions = state.transitions[-SETTINGS.carried_transitions :]
        state.forgotten_entries += len(state.timeline) - len(timeline)
        state.forgotten_entries += len(state.transitions) - len(transitions)
        state.timeline, state.transitions = timeline, transitions
        accepted = [i for i, (ok, _) in self._answers.items() if ok]
        refused = [i for i, (ok, _) in self._answers.items() if not ok]
        kept = set(accepted[-SETTINGS.remembered_accepted_actions :])
        kept |= set(refused[-SETTINGS.remembered_refused_actions :])
        return CarriedOver(
            state=state,
            revision=self._revision,
            reminded=tuple(sorted(self._reminded)),
            notified_checks=self._notified_checks,
            answers=[
                RememberedAnswer(action_id=i, accepted=ok, reason=reason)
                for i, (ok, reason) in self._answers.items()
                if i in kept
            ],
            next_auto_recheck_at=recheck_at,
        )

    def _resumes_past(self, status: UnbindStatus) -> bool:
        """True when a continued run resumes in a wait after ``status``'s step."""
        return self._resume_in is not None and RESUMABLE_WAITS.index(
            self._resume_in
        ) > RESUMABLE_WAITS.index(status)

    def _resumed(self, status: UnbindStatus) -> bool:
        """True once, when a continued run resumes in ``status``'s wait: it was
        entered and announced by an earlier run, only the details are new."""
        if self._resume_in is not status:
            return False
        self._resume_in = None
        self._publish()
        return True

    def _reminders_owed_since(self, status: UnbindStatus, deadline: datetime) -> datetime:
        """Reminders due since the wait began are still owed, even those that fell
        due while the state was being entered (worker down, database slow)."""
        if not workflow.patched(REMINDERS_OWED_PATCH):
            return workflow.now()
        return deadline - self._wait_length(status)

    def _wait_length(self, status: UnbindStatus) -> timedelta:
        """How long a human wait lasts, from this application's deadlines."""
        deadlines = self._state.deadlines
        return {
            S.PENDING_DISTRIBUTOR_REVIEW: deadlines.distributor_review,
            S.PENDING_CUSTOMER_CONFIRMATION: deadlines.customer_confirmation,
            S.PENDING_CARD_BINDING: deadlines.card_binding,
            S.AWAITING_REMEDIATION: deadlines.remediation,
        }[status]

    def _reminder_event(self, status: UnbindStatus, deadline: datetime, at: datetime) -> str:
        return f"reminder:{status}:{rules.humanize(deadline - at)}"

    async def _remind(self, status: UnbindStatus, deadline: datetime, at: datetime) -> None:
        event = self._reminder_event(status, deadline, at)
        self._reminded.add(event)
        await self._notify(
            event,
            [self._awaited_party(status)],
            "Reminder: an unbinding application is waiting for you",
            f"The application for customer {self._input.customer_uin} is waiting for "
            f"{WAITING_FOR[status]}. It expires at {deadline.isoformat()}.",
        )

    def _awaited_party(self, status: UnbindStatus) -> str:
        if status is S.PENDING_DISTRIBUTOR_REVIEW:
            assert self._state.distributor_uin is not None
            return self._state.distributor_uin
        if status is S.AWAITING_REMEDIATION:
            return self._input.initiator_uin
        return self._input.customer_uin

    # ---- state changes and their side effects ------------------------------

    async def _enter(self, status: UnbindStatus, *, deadline: datetime | None = None) -> None:
        """Move to ``status``: timeline, search attributes, details and record."""
        if not rules.is_legal(self._state.status, status):
            # A bug, not a business outcome: fail the task so it can be fixed
            # and replayed, rather than fail the application.
            raise RuntimeError(f"illegal transition {self._state.status} -> {status}")
        self._state.status = status
        self._state.deadline = deadline
        self._state.transitions.append(Transition(at=workflow.now(), status=status))
        self._publish()
        if self._validated:
            await self._save_record()

    async def _end(
        self, status: UnbindStatus, reason: str | None, *, raise_ended: bool = True
    ) -> None:
        """Reach a terminal state and tell every party."""
        self._state.outcome_reason = reason
        await self._enter(status)
        self._settled = True
        await self._announce_end()
        if raise_ended:
            raise _Ended()

    async def _announce_end(self) -> None:
        status = self._state.status
        if status is not S.PRECHECK_FAILED:
            await self._notify(
                status.lower(),
                self._parties(),
                f"Unbinding application {status.lower().replace('_', ' ')}",
                self._outcome_text(status, self._state.outcome_reason),
            )

    async def _on_cancel(self) -> None:
        """An operator's cancel: ends a waiting application cleanly. Arriving
        while an ending is being announced, it lets the announcement finish."""
        if not self._state.status.is_terminal:
            self._log("operator", "cancel", True, "cancelled by an operator")
            await self._end(S.CANCELLED, "cancelled by an operator", raise_ended=False)
            return
        self._log("operator", "cancel", False, f"already {self._state.status}")
        if self._validated:
            await self._save_record()
        await self._announce_end()

    async def _end_if_withdrawn(self) -> None:
        if self._withdrawal is not None:
            await self._end(S.WITHDRAWN, self._withdrawal.reason or "withdrawn by the initiator")

    def _outcome_text(self, status: UnbindStatus, reason: str | None) -> str:
        customer = self._input.customer_uin
        if status is S.COMPLETED:
            assert self._state.effective_at is not None
            return (
                f"Customer {customer} is now a direct customer of the provider and the "
                "reseller customer agreement is invalidated. Usage before "
                f"{self._state.effective_at.isoformat()} is billed to reseller "
                f"{self._state.reseller_uin} (delayed bills included); usage after it is "
                "billed to the customer."
            )
        text = f"The application to unbind customer {customer} ended as {status}."
        return f"{text} Reason: {reason}" if reason else text

    def _parties(self, *, without: str | None = None) -> list[str]:
        everyone = [self._input.initiator_uin]
        if self._validated:
            everyone.append(self._input.customer_uin)
            if self._state.distributor_uin:
                everyone.append(self._state.distributor_uin)
        return [uin for uin in everyone if uin != without]

    def _publish(self) -> None:
        """Search attributes and current details, for operators in the Web UI."""
        state = self._state
        updates: list[SearchAttributeUpdate[Any]] = [
            sa.UNBIND_STATUS.value_set(state.status.value),
            sa.CUSTOMER_UIN.value_set(state.customer_uin),
            sa.RESELLER_UIN.value_set(state.reseller_uin or state.initiator_uin),
            sa.UNBIND_DEADLINE.value_set(state.deadline)
            if state.deadline
            else sa.UNBIND_DEADLINE.value_unset(),
        ]
        if state.distributor_uin:
            updates.append(sa.DISTRIBUTOR_UIN.value_set(state.distributor_uin))
        workflow.upsert_search_attributes(updates)
        workflow.set_current_details(describe(state))

    async def _save_record(self) -> None:
        self._revision += 1
        state = self._state
        await self._call(
            UnbindingActivities.save_record,
            UnbindingRecord(
                application_id=state.application_id,
                workflow_id=state.workflow_id,
                revision=self._revision,
                customer_uin=state.customer_uin,
                initiator_uin=state.initiator_uin,
                reseller_uin=state.reseller_uin,
                distributor_uin=state.distributor_uin,
                status=state.status,
                failed_checks=state.failed_checks,
                deadline=state.deadline,
                submitted_at=state.submitted_at,
                notice_acknowledged_by=state.notice_acknowledged_by,
                notice_acknowledged_at=state.notice_acknowledged_at,
                reason=state.reason,
                effective_at=state.effective_at,
                updated_at=workflow.now(),
            ),
            summary=f"Record status {state.status} on the Unbinding Customers page",
        )

    async def _notify(self, event: str, recipients: list[str], subject: str, body: str) -> None:
        await self._call(
            UnbindingActivities.notify,
            Notification(
                application_id=self._input.application_id,
                workflow_id=self._state.workflow_id,
                event=event,
                recipients=tuple(recipients),
                subject=subject,
                body=body,
                at=workflow.now(),
            ),
            summary=f"Notify {', '.join(recipients)}: {subject}",
        )

    async def _call(
        self,
        activity: Callable[[Any, Any], Any],
        arg: Any,
        *,
        summary: str,
        policy: ActivityPolicy = SETTINGS.partner_center,
    ) -> Any:
        return await workflow.execute_activity_method(
            activity,  # type: ignore[arg-type]
            arg,
            start_to_close_timeout=policy.start_to_close,
            retry_policy=policy.retry,
            summary=summary,
        )

    # ---- people's actions -------------------------------------------------

    def _refusal(self, action: Action) -> str | None:
        if self._withdrawal is not None and action.kind is not ActionKind.WITHDRAW:
            return "the application is being withdrawn"
        reason = rules.refusal(self._state.status, action, self._roles)
        if reason is None and self._already_taken(action):
            reason = f"a {action.kind} is already being processed"
        return reason

    def _already_taken(self, action: Action) -> bool:
        """One decision per wait: the first accepted one wins."""
        match action.kind:
            case ActionKind.REVIEW:
                return self._review is not None
            case ActionKind.CONFIRM | ActionKind.REJECT:
                return self._customer_decision is not None
            case ActionKind.CARD_BOUND:
                return self._card_claim is not None
            case ActionKind.RECHECK:
                return self._recheck is not None
            case ActionKind.WITHDRAW:
                return self._withdrawal is not None

    def _accept(self, action: Action) -> None:
        self._seen.add(action.action_id)
        self._settled = False
        match action:
            case ReviewAction():
                self._review = action
            case ConfirmAction() | RejectAction():
                self._customer_decision = action
            case CardBoundAction():
                # Logged once the partner center has confirmed the card.
                self._card_claim = action
                return
            case RecheckAction():
                self._recheck = action
            case WithdrawAction():
                self._withdrawal = action
        self._answers[action.action_id] = (True, None)
        self._log(
            action.actor, action.kind, True, getattr(action, "reason", None), action.action_id
        )

    @staticmethod
    def _action_in(kind: type[Action], payload: tuple[Any, ...]) -> Action:
        """The one action a signal or update carries, validated here rather than
        by the SDK: it would fail the workflow task on a signal with no argument
        or several (retried forever, wedging the application), and answer such
        an update with a Python error instead of naming the field."""
        return _one_message(
            kind,
            payload,
            carrier=f"a {kind.kind}",
            name=f"{kind.kind} action",
            error_type=INVALID_ACTION,
        )

    def _on_signal_payload(self, kind: type[Action], payload: tuple[Any, ...]) -> None:
        """A malformed signal cannot be answered: it is logged and dropped."""
        try:
            action = self._action_in(kind, payload)
        except ApplicationError as error:
            workflow.logger.warning("dropped a malformed signal: %s", error.message)
            return
        self._on_signal(action)

    def _on_signal(self, action: Action) -> None:
        if action.action_id in self._seen:
            return
        reason = self._refusal(action)
        if reason is None:
            self._accept(action)
        else:
            self._seen.add(action.action_id)
            self._answers[action.action_id] = (False, reason)
            self._log(action.actor, action.kind, False, reason, action.action_id)

    def _validate(self, action: Action) -> None:
        """Update validator: a refusal writes no history."""
        if action.action_id in self._seen:
            # A repeat gets its first answer; a refusal (of an earlier signal)
            # is repeated here too, so it writes no history either.
            accepted, earlier = self._answers.get(action.action_id, (True, None))
            if not accepted:
                raise ApplicationError(
                    earlier or "refused", type=ACTION_REFUSED, non_retryable=True
                )
            return
        reason = self._refusal(action)
        if reason is not None:
            raise ApplicationError(reason, type=ACTION_REFUSED, non_retryable=True)

    async def _on_update(self, action: Action) -> ActionResult:
        if action.action_id not in self._seen:
            self._accept(action)
        await workflow.wait_condition(lambda: action.action_id in self._answers and self._settled)
        accepted, reason = self._answers[action.action_id]
        return ActionResult(accepted=accepted, status=self._state.status, reason=reason)

    def _log(
        self,
        actor: str,
        action: str,
        accepted: bool,
        reason: str | None = None,
        action_id: str | None = None,
    ) -> None:
        # A hostile client could flood rejected actions; keep history bounded.
        if not accepted and len(self._state.timeline) >= SETTINGS.max_timeline_entries:
            self._state.unlogged_rejections += 1
            return
        self._state.timeline.append(
            TimelineEntry(
                at=workflow.now(),
                actor=actor,
                action=str(action),
                accepted=accepted,
                reason=reason,
                action_id=action_id,
            )
        )

    @staticmethod
    def _with_reason(text: str, action: Action | None) -> str:
        reason = getattr(action, "reason", None)
        return f"{text} Reason: {reason}" if reason else text

    # Each action is a signal (fire-and-forget; a refusal is logged in the
    # timeline) and an update (validated; a refusal is answered at once).

    @workflow.signal(name="review", description=ACTIONS[ActionKind.REVIEW].description)
    def review_signal(self, *payload: Any) -> None:
        self._on_signal_payload(ReviewAction, payload)

    @workflow.update(name="review", description=ACTIONS[ActionKind.REVIEW].description)
    async def review_update(self, *payload: Any) -> ActionResult:
        return await self._on_update(self._action_in(ReviewAction, payload))

    @review_update.validator
    def _validate_review(self, *payload: Any) -> None:
        self._validate(self._action_in(ReviewAction, payload))

    @workflow.signal(name="confirm", description=ACTIONS[ActionKind.CONFIRM].description)
    def confirm_signal(self, *payload: Any) -> None:
        self._on_signal_payload(ConfirmAction, payload)

    @workflow.update(name="confirm", description=ACTIONS[ActionKind.CONFIRM].description)
    async def confirm_update(self, *payload: Any) -> ActionResult:
        return await self._on_update(self._action_in(ConfirmAction, payload))

    @confirm_update.validator
    def _validate_confirm(self, *payload: Any) -> None:
        self._validate(self._action_in(ConfirmAction, payload))

    @workflow.signal(name="reject", description=ACTIONS[ActionKind.REJECT].description)
    def reject_signal(self, *payload: Any) -> None:
        self._on_signal_payload(RejectAction, payload)

    @workflow.update(name="reject", description=ACTIONS[ActionKind.REJECT].description)
    async def reject_update(self, *payload: Any) -> ActionResult:
        return await self._on_update(self._action_in(RejectAction, payload))

    @reject_update.validator
    def _validate_reject(self, *payload: Any) -> None:
        self._validate(self._action_in(RejectAction, payload))

    @workflow.signal(name="card_bound", description=ACTIONS[ActionKind.CARD_BOUND].description)
    def card_bound_signal(self, *payload: Any) -> None:
        self._on_signal_payload(CardBoundAction, payload)

    @workflow.update(name="card_bound", description=ACTIONS[ActionKind.CARD_BOUND].description)
    async def card_bound_update(self, *payload: Any) -> ActionResult:
        return await self._on_update(self._action_in(CardBoundAction, payload))

    @card_bound_update.validator
    def _validate_card_bound(self, *payload: Any) -> None:
        self._validate(self._action_in(CardBoundAction, payload))

    @workflow.signal(name="withdraw", description=ACTIONS[ActionKind.WITHDRAW].description)
    def withdraw_signal(self, *payload: Any) -> None:
        self._on_signal_payload(WithdrawAction, payload)

    @workflow.update(name="withdraw", description=ACTIONS[ActionKind.WITHDRAW].description)
    async def withdraw_update(self, *payload: Any) -> ActionResult:
        return await self._on_update(self._action_in(WithdrawAction, payload))

    @withdraw_update.validator
    def _validate_withdraw(self, *payload: Any) -> None:
        self._validate(self._action_in(WithdrawAction, payload))

    @workflow.signal(name="recheck", description=ACTIONS[ActionKind.RECHECK].description)
    def recheck_signal(self, *payload: Any) -> None:
        self._on_signal_payload(RecheckAction, payload)

    @workflow.update(name="recheck", description=ACTIONS[ActionKind.RECHECK].description)
    async def recheck_update(self, *payload: Any) -> ActionResult:
        return await self._on_update(self._action_in(RecheckAction, payload))

    @recheck_update.validator
    def _validate_recheck(self, *payload: Any) -> None:
        self._validate(self._action_in(RecheckAction, payload))

    @workflow.update(
        name="submission",
        description="Answers once the preconditions are checked: accepted, or which failed.",
    )
    async def submission(self) -> SubmissionResult:
        await workflow.wait_condition(
            lambda: self._state.status is not S.VALIDATING and self._settled
        )
        return SubmissionResult(
            accepted=self._state.status not in (S.PRECHECK_FAILED, S.CANCELLED),
            workflow_id=self._state.workflow_id,
            status=self._state.status,
            failed_checks=self._state.failed_checks,
        )

    @workflow.query(name="status", description="Full state: parties, deadlines, timeline.")
    def status(self) -> UnbindingState:
        return self._state


def history_is_long() -> bool:
    """The server suggests continuing as new, or the history passed our own bound."""
    info = workflow.info()
    return (
        info.is_continue_as_new_suggested()
        or info.get_current_history_length() >= SETTINGS.continue_as_new_after_events
        or info.get_current_history_size() >= SETTINGS.continue_as_new_after_bytes
    )


def describe(state: UnbindingState) -> str:
    """The current details operators read in the Web UI (markdown)."""
    lines = [f"**Status:** {state.status}"]
    if state.status in WAITING_FOR:
        lines.append(f"**Waiting for:** {WAITING_FOR[state.status]}")
    if state.deadline:
        lines.append(f"**Next deadline:** {state.deadline.isoformat()}")
    lines.append(
        f"**Customer:** {state.customer_uin} · **Reseller:** "
        f"{state.reseller_uin or state.initiator_uin}"
        + (f" · **Distributor:** {state.distributor_uin}" if state.distributor_uin else "")
    )
    if state.failed_checks:
        lines.append("**Failed checks:**")
        lines += [f"- `{c.check}`: {c.hint}" for c in state.failed_checks]
    if state.effective_at:
        lines.append(f"**Billing boundary:** {state.effective_at.isoformat()}")
    if state.outcome_reason:
        lines.append(f"**Reason:** {state.outcome_reason}")
    return "\n".join(lines)
