"""The unbinding workflow: one execution per application, start to finish.

``run`` reads as the help page's story, in order: check the preconditions,
let the distributor review (second-level resellers only), let the customer
confirm, have a card bound, check again, then cut over for good.

The other jobs live next door: people's actions in ``intake`` (both the
signal and the update of each action, described once in ``actions``), human
waits with their deadlines and reminders in ``waits``, the continue-as-new
hand-over in ``handover``, search attributes and the record in
``publishing``, and every text people read in ``texts``. All state is one
``state.WorkflowState``.

An operator's cancel ends a waiting application as ``CANCELLED``; once the
cutover has started it is recorded and ignored, because the cutover cannot be
undone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.unbinding import UnbindingActivities
    from workflows import metrics, rules, texts
    from workflows.actions import Decision
    from workflows.handlers import Handlers
    from workflows.handover import RESUMABLE_WAITS, begin, hand_over, resumes_past
    from workflows.intake import Intake, answer, answer_the_unanswered, log
    from workflows.model import (
        AccountCheckRequest,
        AccountCheckResult,
        ActionKind,
        CardCheckRequest,
        ConfirmAction,
        CutoverRequest,
        Effective,
        OnDeadline,
        Outbox,
        PrecheckRequest,
        RejectAction,
        Requester,
        ResellerReviewAction,
        ReviewAction,
        Transition,
        UnbindingState,
        UnbindStatus,
        WithdrawAction,
    )
    from workflows.patches import (
        ANSWER_AT_THE_END_PATCH,
        CARD_READ_AFTER_CONFIRMATION_PATCH,
        patched,
        second_generation,
        started_with_every_patch,
    )
    from workflows.publishing import (
        call,
        flush,
        local_steps,
        notification_of,
        notify,
        parties,
        publish,
        record_of,
        save_record,
        show_search_attributes,
        take_outbox,
    )
    from workflows.settings import SETTINGS
    from workflows.waits import HumanWait, Wake, awaited_party, wait_length


T = TypeVar("T")

SYSTEM = "system"
S = UnbindStatus
K = ActionKind


COMPLETED_EVENT = S.COMPLETED.lower()
"""The event of the message every party receives when the cutover completes."""

# The endings only the cutover's recorded outcome leads to.
AFTER_THE_CUTOVER = frozenset({S.COMPLETED, S.FAILED})


class _Ended(Exception):
    """Raised inside the story once the application reached a terminal state."""


@workflow.defn(name="Unbinding")
class UnbindingWorkflow(Handlers):
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
        worker takes it, instead of failing an application in mid-process.
        (``workflows.handover.begin``)"""
        self._input, self._state = begin(payload)
        self._intake = Intake(self._state)
        self._discounts: tuple[str, ...] = ()
        """The discounts the precheck found (kept in the plan from then on)."""
        self._ending_written = False
        """The cutover wrote the application's ending (``_ending_for_the_cutover``)."""
        self._account_read: AccountCheckResult | None = None
        """The account as read right after the confirmation (runs that started
        with every patch): the final check's reading when the story goes on to
        it without waiting for anyone."""

    # ---- the story --------------------------------------------------------

    @workflow.run
    async def run(self, *payload: Any) -> UnbindingState:
        """``payload`` is the one :class:`ApplicationInput`, already taken by ``__init__``."""
        # Which code the run started on, and whether parties' signals are
        # refused, are fixed now, in the first task.
        started_with_every_patch()
        self._intake.party_signals_refused()
        try:
            await self._check_preconditions()
            await self._wait_for_reseller_review()
            await self._wait_for_distributor_review()
            await self._wait_for_customer_decision()
            await self._wait_for_card_binding()
            await self._wait_for_the_effective_date()
            await self._check_again_until_remedied()
            await self._cut_over_despite_cancel()
        except _Ended:
            pass
        except BaseException as err:
            if not is_cancelled_exception(err):
                raise
            await self._on_cancel()
        await self._write_out()
        self._state.settled = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state.public

    async def _check_preconditions(self) -> None:
        if self._state.resume_in is not None:
            return
        metrics.application_started()
        application, public = self._input, self._state.public
        result = await call(
            UnbindingActivities.check_application,
            PrecheckRequest(
                application_id=application.application_id,
                customer_uin=application.customer_uin,
                initiator_uin=application.initiator_uin,
                submitter_uin=application.submitter_uin,
                requested_by=application.requested_by,
            ),
            summary="Check the unbinding preconditions",
            policy=SETTINGS.partner_center_reads,
        )
        public.failed_checks = list(result.failed_checks)
        if result.failed_checks or result.parties is None:
            await self._end(S.PRECHECK_FAILED, "preconditions not met")
        parties = result.parties
        assert parties is not None
        public.reseller_uin = parties.reseller_uin
        public.partner_kind = parties.partner_kind
        public.distributor_uin = parties.distributor_uin
        public.card_bound = result.card_bound
        self._discounts = result.discounts
        self._plan_from_now()
        await self._end_if_withdrawn()
        await notify(
            self._state,
            "submitted",
            [application.initiator_uin],
            texts.submitted(application.customer_uin, public.plan),
        )

    def _plan_from_now(self) -> None:
        """The cutover plan as of now: the date is the end of the billing month
        current when a party is asked (or when everyone has agreed)."""
        public = self._state.public
        discounts = public.plan.discounts_ending if public.plan else self._discounts
        public.plan = rules.cutover_plan(
            self._input.effective, now=workflow.now(), discounts=discounts
        )

    async def _wait_for_reseller_review(self) -> None:
        """The customer's own request: its reseller reviews within the deadline,
        or the deadline decides (approves by default)."""
        state, public = self._state, self._state.public
        if public.requested_by is not Requester.CUSTOMER:
            return
        if resumes_past(state.resume_in, S.PENDING_RESELLER_REVIEW):
            return
        if state.resume_in is None:
            self._plan_from_now()
        await self._ask(
            S.PENDING_RESELLER_REVIEW,
            "reseller_review_requested",
            texts.reseller_review_requested(public.customer_uin, public.plan),
        )
        if await self._wait_for_people(Decision.RESELLER_REVIEW) is Wake.EXPIRED:
            choice = await self._deadline_decides(
                S.PENDING_RESELLER_REVIEW, K.RESELLER_REVIEW, "the reseller did not review in time"
            )
            state.review_handed_over = choice is OnDeadline.DISTRIBUTOR
            return
        review = state.decisions[Decision.RESELLER_REVIEW]
        assert isinstance(review, ResellerReviewAction)
        await notify(
            state,
            f"reseller_review_decision:{texts.review_verdict(review)}",
            parties(state, without=review.actor),
            texts.reseller_review_decided(review),
        )
        if not review.approve:
            await self._end(S.RESELLER_REJECTED, review.reason)

    async def _deadline_decides(
        self, status: UnbindStatus, kind: ActionKind, expired: str
    ) -> OnDeadline:
        """A review wait's deadline passed: do what this application chose for
        it (``Deadlines.on_deadline``). Returns only when the review was
        approved or handed to the distributor."""
        state, public = self._state, self._state.public
        choice = rules.on_deadline(status, public.deadlines, public.distributor_uin)
        if choice is OnDeadline.EXPIRE:
            await self._end(S.EXPIRED, expired)
        verdict = (
            "approved the review automatically"
            if choice is OnDeadline.APPROVE
            else "handed the review to the distributor"
        )
        log(state, SYSTEM, kind, True, f"deadline passed: {verdict}")
        await notify(
            state,
            f"deadline:{status}:{choice}",
            parties(state),
            texts.decided_by_the_deadline(status, verdict),
        )
        return choice

    async def _wait_for_distributor_review(self) -> None:
        application, state, public = self._input, self._state, self._state.public
        assert public.partner_kind is not None
        by_customer = public.requested_by is Requester.CUSTOMER
        if by_customer and not state.review_handed_over:
            return
        if (
            not by_customer
            and rules.first_wait(public.partner_kind) is not S.PENDING_DISTRIBUTOR_REVIEW
        ):
            return
        if resumes_past(self._state.resume_in, S.PENDING_DISTRIBUTOR_REVIEW):
            return
        if by_customer:
            assert public.reseller_uin is not None
            message = texts.review_handed_over(
                public.customer_uin, public.reseller_uin, public.plan
            )
        else:
            message = texts.review_requested(
                application.initiator_uin, application.customer_uin, public.plan
            )
        await self._ask(S.PENDING_DISTRIBUTOR_REVIEW, "review_requested", message)
        if await self._wait_for_people(Decision.REVIEW) is Wake.EXPIRED:
            await self._deadline_decides(
                S.PENDING_DISTRIBUTOR_REVIEW, K.REVIEW, "the distributor did not review in time"
            )
            return
        review = self._state.decisions[Decision.REVIEW]
        assert isinstance(review, ReviewAction)
        await notify(
            self._state,
            f"review_decision:{texts.review_verdict(review)}",
            [application.initiator_uin],
            texts.review_decided(review),
        )
        if rules.after_review(review) is S.DISTRIBUTOR_REJECTED:
            await self._end(S.DISTRIBUTOR_REJECTED, review.reason)

    async def _wait_for_customer_decision(self) -> None:
        if self._state.public.requested_by is Requester.CUSTOMER:
            return  # the customer asked: its request is its consent
        if resumes_past(self._state.resume_in, S.PENDING_CUSTOMER_CONFIRMATION):
            return
        customer = self._input.customer_uin
        if self._state.resume_in is None:
            self._plan_from_now()
        await self._ask(
            S.PENDING_CUSTOMER_CONFIRMATION,
            "confirmation_requested",
            texts.confirmation_requested(self._input.initiator_uin, self._state.public.plan),
        )
        if await self._wait_for_people(Decision.CUSTOMER_DECISION) is Wake.EXPIRED:
            await self._end(S.EXPIRED, "the customer did not confirm in time")
        decision = self._state.decisions[Decision.CUSTOMER_DECISION]
        assert isinstance(decision, ConfirmAction | RejectAction)
        # The help page: the initiator receives a system message either way.
        await notify(
            self._state,
            f"customer_decision:{texts.customer_verdict(decision)}",
            parties(self._state, without=customer),
            texts.customer_decided(customer, decision),
        )
        if isinstance(decision, RejectAction):
            await self._end(S.CUSTOMER_REJECTED, decision.reason)

    async def _wait_for_card_binding(self) -> None:
        state = self._state
        if resumes_past(state.resume_in, S.PENDING_CARD_BINDING):
            return
        if state.resume_in is None and patched(CARD_READ_AFTER_CONFIRMATION_PATCH):
            await self._read_card_after_confirmation()
        if rules.after_confirmation(bool(state.public.card_bound)) is S.FINAL_CHECK:
            return
        await self._ask(
            S.PENDING_CARD_BINDING, "card_binding_requested", texts.card_binding_requested()
        )
        while True:
            if await self._wait_for_people(Decision.CARD_CLAIM) is Wake.EXPIRED:
                await self._end(S.EXPIRED, "the customer did not bind a card in time")
            claim = state.decisions[Decision.CARD_CLAIM]
            # The signal alone proves nothing: ask the partner center.
            bound = await call(
                UnbindingActivities.check_card,
                CardCheckRequest(customer_uin=self._input.customer_uin),
                summary="Verify the customer's card binding",
                policy=SETTINGS.partner_center_reads,
            )
            answer(state, claim, bound, None if bound else "no card is bound in the partner center")
            del state.decisions[Decision.CARD_CLAIM]
            if bound:
                state.public.card_bound = True
                return

    async def _wait_for_the_effective_date(self) -> None:
        """Everyone agreed: a cutover at the end of the billing month waits for
        that date on a durable timer. Until then the initiator may withdraw and
        an operator's cancel ends the application, as before the confirmation."""
        state = self._state
        if resumes_past(state.resume_in, S.AWAITING_EFFECTIVE_DATE):
            return
        if self._input.effective is Effective.AT_ONCE:
            return
        if state.resume_in is not S.AWAITING_EFFECTIVE_DATE:
            # The date a party was shown may have passed while others acted:
            # the cutover then waits for the end of the month current now.
            self._plan_from_now()
            plan = state.public.plan
            if not rules.waits_for_the_date(plan, workflow.now()):
                return
            assert plan is not None and plan.effective_on is not None
            await self._enter(S.AWAITING_EFFECTIVE_DATE, deadline=plan.effective_on)
            await notify(state, "cutover_scheduled", parties(state), texts.cutover_scheduled(plan))
        else:
            self._resumed(S.AWAITING_EFFECTIVE_DATE)
        # The "deadline" of this wait is the date itself: it has come.
        await self._wait_for_people(Decision.WITHDRAWAL)

    async def _read_card_after_confirmation(self) -> None:
        """The card read at submission may be weeks old, and a card removed
        since would leave the customer with nothing to be billed from: decide
        whether to ask for one from what the partner center says now."""
        if started_with_every_patch():
            # One read for both: the card, and the final check that follows
            # at once when the card is bound and the cutover is due now.
            self._account_read = await self._read_account(
                "Read the customer account after the confirmation"
            )
            self._state.public.card_bound = self._account_read.card_bound
        else:
            self._state.public.card_bound = await call(
                UnbindingActivities.check_card,
                CardCheckRequest(customer_uin=self._input.customer_uin),
                summary="Read the customer's card binding after the confirmation",
                policy=SETTINGS.partner_center_reads,
            )
        await self._end_if_withdrawn()

    async def _read_account(self, summary: str) -> AccountCheckResult:
        result: AccountCheckResult = await call(
            UnbindingActivities.check_account,
            AccountCheckRequest(
                application_id=self._input.application_id,
                customer_uin=self._input.customer_uin,
            ),
            summary=summary,
            policy=SETTINGS.partner_center_reads,
        )
        return result

    async def _check_again_until_remedied(self) -> None:
        state, public = self._state, self._state.public
        remediation_deadline: datetime | None = None
        if state.resume_in is S.AWAITING_REMEDIATION:
            remediation_deadline = public.deadline
        while True:
            if not self._resumed(S.AWAITING_REMEDIATION):
                await self._enter(S.FINAL_CHECK)
                state.final_checks += 1
                result = self._account_read
                if result is None:
                    result = await self._shown_if_slow(
                        self._read_account("Re-check the customer account before cutover")
                    )
                self._account_read = None
                public.failed_checks = list(result.failed_checks)
                public.card_bound = result.card_bound
                await self._end_if_withdrawn()
                if rules.after_final_check(result.failed_checks) is S.CUTTING_OVER:
                    return
                if remediation_deadline is None:
                    remediation_deadline = workflow.now() + wait_length(
                        S.AWAITING_REMEDIATION, public.deadlines
                    )
                await self._enter(S.AWAITING_REMEDIATION, deadline=remediation_deadline)
                if state.notified_checks != public.failed_checks:
                    state.notified_checks = list(public.failed_checks)
                    await notify(
                        self._state,
                        # Numbered by a count no continue-as-new trims, in a
                        # shape no key of the older numbering can take.
                        f"final_check_failed:check-{state.final_checks}",
                        [self._input.initiator_uin],
                        texts.final_check_failed(public.failed_checks),
                    )
            wake = await self._wait_for_people(
                Decision.RECHECK, auto_recheck_every=public.deadlines.auto_recheck_every
            )
            if wake is Wake.EXPIRED:
                await self._end(S.EXPIRED, "the failed checks were not fixed in time")
            metrics.recheck("scheduled" if wake is Wake.AUTO_RECHECK else "requested")
            if wake is Wake.AUTO_RECHECK:
                log(state, SYSTEM, K.RECHECK, True, "scheduled recheck")
            state.decisions.pop(Decision.RECHECK, None)

    async def _cut_over_despite_cancel(self) -> None:
        """From here on nothing may interrupt: a cancel is logged and ignored."""
        cutover = asyncio.create_task(self._cut_over())
        while not cutover.done():
            try:
                await asyncio.shield(cutover)
            except asyncio.CancelledError:
                if cutover.cancelled():
                    raise
                log(self._state, SYSTEM, "cancel", False, "cutover in progress: cancel ignored")

    async def _cut_over(self) -> None:
        """Irreversible: the customer becomes a direct customer of the provider
        and the reseller customer agreement is invalidated, together."""
        await self._enter(S.CUTTING_OVER)
        # The record says CUTTING_OVER in the cutover's own transaction, with
        # the messages queued since the last write (the cutover commits them
        # even when it refuses): `unbind close-terminated` goes by the record.
        later = second_generation()
        outbox = take_outbox(self._state, show=not later)
        public = self._state.public
        assert public.reseller_uin is not None
        ending = self._ending_for_the_cutover() if later else None
        try:
            result = await self._shown_if_slow(
                call(
                    UnbindingActivities.cut_over,
                    CutoverRequest(
                        application_id=self._input.application_id,
                        customer_uin=self._input.customer_uin,
                        reseller_uin=public.reseller_uin,
                        not_before=public.plan.effective_on if public.plan else None,
                        outbox=None if outbox.empty else outbox,
                        ending=ending,
                    ),
                    summary="Cut over: end the reselling relationship, invalidate the agreement",
                    policy=SETTINGS.cutover,
                )
            )
        except ActivityError as err:
            await self._end(S.FAILED, str(err.cause or err), raise_ended=False)
            return
        public.effective_at = result.effective_at
        self._ending_written = ending is not None
        await self._end(S.COMPLETED, None, raise_ended=False)

    def _ending_for_the_cutover(self) -> Outbox:
        """The record and the message ``_end(COMPLETED)`` makes once the
        cutover answers, for the cutover to write in its own transaction: the
        record says COMPLETED exactly when the relationship is cut, and no
        write is left between them. The cutover adds the date it commits
        (``texts.completed_on``); ``_write_out`` then leaves them out."""
        state = self._state
        completed = state.public.model_copy(
            update={"status": S.COMPLETED, "deadline": None, "outcome_reason": None}
        )
        record = record_of(completed, revision=state.revision + 1, at=workflow.now())
        rendered_by_the_cutover = texts.Message(subject="", body="")
        message = notification_of(state, COMPLETED_EVENT, parties(state), rendered_by_the_cutover)
        return Outbox(record=record, notifications=[message])

    async def _shown_if_slow(self, step: Awaitable[T]) -> T:
        """A step that takes seconds, shown in the search attributes (the
        runbook's "stuck" query) only once it has lasted
        ``SETTINGS.step_shown_after`` in second-generation runs: usually over
        sooner, it costs no upsert. Older runs showed it at once (the final
        check not at all): they await it as they did."""
        if not second_generation():
            return await step
        task = asyncio.ensure_future(step)
        try:
            await workflow.wait([task], timeout=SETTINGS.step_shown_after.total_seconds())
        except BaseException:
            task.cancel()  # an operator's cancel reaches the step, as when awaited
            raise
        if not task.done():
            show_search_attributes(self._state)
        return await task

    # ---- waiting for people ----------------------------------------------

    async def _ask(self, status: UnbindStatus, event: str, message: texts.Message) -> None:
        """Enter a human wait and tell the party it waits for."""
        if self._resumed(status):
            return
        public = self._state.public
        await self._enter(status, deadline=workflow.now() + wait_length(status, public.deadlines))
        await notify(self._state, event, [awaited_party(public, status)], message)

    async def _wait_for_people(
        self, decision: Decision, *, auto_recheck_every: timedelta | None = None
    ) -> Wake:
        """Wait for ``decision``, a withdrawal, the deadline or (with
        ``auto_recheck_every``) the scheduled recheck. A withdrawal ends the
        application here."""
        state = self._state
        self._account_read = None  # whatever was read is old once anyone is waited for
        wake = await HumanWait(
            state,
            woken=lambda: state.decided(decision) or state.decided(Decision.WITHDRAWAL),
            continue_as_new=self._continue_as_new,
            auto_recheck_every=auto_recheck_every,
        ).run()
        if wake is Wake.EXPIRED:
            metrics.deadline_passed(state.status.value)
        if wake is Wake.READY:
            await self._end_if_withdrawn()
        return wake

    def _continue_as_new(self, next_auto_recheck_at: datetime | None) -> None:
        # A bug, not a business outcome, if something is still unwritten: the
        # outbox is not handed over. Fail the task rather than lose it.
        if not self._state.outbox.empty:
            raise RuntimeError("continue-as-new with an unwritten outbox")
        application = self._input.model_copy(update={"carried_over": None})
        carried = hand_over(self._state, next_auto_recheck_at=next_auto_recheck_at)
        workflow.continue_as_new(args=[application, carried])

    def _resumed(self, status: UnbindStatus) -> bool:
        """True once, when a continued run resumes in ``status``'s wait: it was
        entered and announced by an earlier run, only the details are new."""
        if self._state.resume_in is not status:
            return False
        self._state.resume_in = None
        publish(self._state.public)
        return True

    # ---- state changes and their side effects ------------------------------

    async def _enter(self, status: UnbindStatus, *, deadline: datetime | None = None) -> None:
        """Move to ``status``: timeline, search attributes, details and record."""
        public = self._state.public
        if not rules.is_legal(public.status, status):
            # A bug, not a business outcome: fail the task so it can be fixed
            # and replayed, rather than fail the application.
            raise RuntimeError(f"illegal transition {public.status} -> {status}")
        self._leave_wait()
        workflow.logger.info(
            "%s -> %s", public.status, status, extra={"application_id": public.application_id}
        )
        public.status = status
        public.deadline = deadline
        public.transitions.append(Transition(at=workflow.now(), status=status))
        publish(public)
        if self._state.validated:
            await save_record(self._state)

    def _leave_wait(self) -> None:
        """Measure the human wait being left, if any, from when it was entered."""
        public = self._state.public
        if public.status in RESUMABLE_WAITS and public.transitions:
            entered = public.transitions[-1]
            if entered.status is public.status:
                metrics.wait_ended(public.status.value, workflow.now() - entered.at)

    async def _end(
        self, status: UnbindStatus, reason: str | None, *, raise_ended: bool = True
    ) -> None:
        """Reach a terminal state and tell every party."""
        state = self._state
        state.public.outcome_reason = reason
        await self._enter(status)
        metrics.application_ended(status.value)
        if state.awaiting_the_story() and patched(ANSWER_AT_THE_END_PATCH):
            answer_the_unanswered(state)
        if local_steps():
            # The ending's record and messages are written before anyone is answered.
            await self._announce_end()
            await self._write_out()
            state.settled = True
        else:
            state.settled = True
            await self._announce_end()
        if raise_ended:
            raise _Ended()

    async def _write_out(self) -> None:
        """Write what the outbox holds: the last write after the cutover's
        recorded outcome by ``SETTINGS.after_the_cutover`` (local only in runs
        that read locally, ``publishing.reads_locally``)."""
        state = self._state
        if self._ending_written:
            # The cutover wrote the ending (``_ending_for_the_cutover``): only
            # the search attributes, and anything else queued, are left.
            self._ending_written = False
            state.outbox = Outbox(
                notifications=[n for n in state.outbox.notifications if n.event != COMPLETED_EVENT]
            )
        after_the_cutover = state.status in AFTER_THE_CUTOVER
        policy = SETTINGS.after_the_cutover if after_the_cutover else SETTINGS.partner_center
        await flush(state, policy=policy)

    async def _announce_end(self) -> None:
        public = self._state.public
        if public.status is not S.PRECHECK_FAILED:
            await notify(
                self._state,
                public.status.lower(),
                parties(
                    self._state,
                ),
                texts.outcome(
                    public.status,
                    customer_uin=public.customer_uin,
                    reseller_uin=public.reseller_uin,
                    effective_at=public.effective_at,
                    reason=public.outcome_reason,
                ),
            )

    async def _on_cancel(self) -> None:
        """An operator's cancel: ends a waiting application cleanly. Arriving
        while an ending is being announced, it lets the announcement finish."""
        state = self._state
        if not state.status.is_terminal:
            log(state, "operator", "cancel", True, "cancelled by an operator")
            await self._end(S.CANCELLED, "cancelled by an operator", raise_ended=False)
            return
        log(state, "operator", "cancel", False, f"already {state.status}")
        if state.validated:
            await save_record(self._state)
        await self._announce_end()

    async def _end_if_withdrawn(self) -> None:
        withdrawal = self._state.decisions.get(Decision.WITHDRAWAL)
        if withdrawal is not None:
            assert isinstance(withdrawal, WithdrawAction)
            await self._end(S.WITHDRAWN, withdrawal.reason or "withdrawn by the initiator")
