"""The typed async API backend services use to start applications and forward
people's actions to them.

Every input is validated by the message models before Temporal is contacted, so
bad input (:class:`~starter.errors.BadInput`) never starts or signals anything.
Business refusals are :class:`~starter.errors.Refused` (or, for an action, an
``ActionResult`` with ``accepted=False``); Temporal trouble is
:class:`~starter.errors.Unreachable`, and an action sent but not answered in
time is :class:`~starter.errors.ActionUnanswered`: send it again with the same
``action_id``.

    client = await UnbindingClient.connect()
    result = await client.apply(customer_uin="20000000001", initiator_uin="10000001",
                                notice_acknowledged=True)
    await client.confirm("20000000001", actor="20000000001")
    await client.perform("confirm", "20000000001", actor="20000000001")  # the same, by kind
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, TypedDict, Unpack, cast

from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from starter.calls import no_such_workflow
from starter.connection import connect_client, connect_config, task_queue_from_env
from starter.errors import (
    ActionUnanswered,
    ApplicationConflict,
    BadInput,
    Refused,
    Unreachable,
)
from starter.inputs import (
    ApplicationFields,
    action_of_kind,
    build_action,
    build_application,
    build_deadlines,
    customer_ref,
    revalidated,
)
from starter.reading import ApplicationReader, ApplicationSummary, RunReport, StatusReport
from starter.signing import SigningInterceptor, signing_as
from starter.submission import consume_start_failure, start_operation, submission_update_id
from starter.telemetry import Telemetry
from workflows.contract import (
    ACTION_REFUSED,
    SUBMISSION_UPDATE,
    update_id_for,
    workflow_id_for,
)
from workflows.model import (
    Action,
    ActionKind,
    ActionResult,
    ApplicationInput,
    Deadlines,
    Effective,
    Requester,
    SubmissionResult,
    TimelineEntry,
    UnbindingState,
    UnbindStatus,
)
from workflows.signing import Signer
from workflows.unbinding import UnbindingWorkflow

UPDATE_ATTEMPTS = 10
"""How often an action is sent again while its run is handing over to the next
(continue-as-new), if the server answers "not ready" or "not found" meanwhile.
(Server 1.32 carries an update caught in the hand-over to the next run itself;
it answers "aborted by closing workflow" when the run was stopped instead:
tests/workflows/test_actions_during_handover.py.)"""
RESEND_AFTER = timedelta(milliseconds=300)


class Options(TypedDict, total=False):
    """What any action may carry besides its actor and fields."""

    action_id: str | None
    """The id of an earlier call to retry (default: a fresh one)."""
    principal: str | None
    """Who really acts (the authenticated caller), named in the action's
    signature when the client signs (default: the actor)."""


class WithReason(Options, total=False):
    reason: str | None


class UnbindingClient(ApplicationReader):
    """Starts unbinding applications and forwards people's actions to them;
    reads them back (:class:`~starter.reading.ApplicationReader`)."""

    @classmethod
    async def connect(
        cls,
        *,
        task_queue: str | None = None,
        signer: Signer | None = None,
        telemetry: Telemetry | None = None,
    ) -> UnbindingClient:
        """Connect using the standard Temporal environment configuration
        (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, TLS
        variables, profiles); the task queue from ``UNBIND_TASK_QUEUE``. A
        mistake in that configuration is a :class:`BadConfiguration`. With a
        ``signer`` (``starter.signing.signer_from_env``), every action is sent
        signed (docs/HTTP_API.md, "Signed actions"). ``telemetry`` (a long-lived process's,
        ``starter.telemetry``) adds its metrics and traces."""
        config = connect_config()
        if signer is not None:
            config = {**config, "interceptors": [SigningInterceptor(signer)]}
        client = await connect_client(config, telemetry)
        return cls(client, task_queue=task_queue or task_queue_from_env())

    @property
    def signs(self) -> bool:
        """Whether this client signs the actions it sends (a signing interceptor)."""
        interceptors = self._client.config().get("interceptors", ())
        return any(isinstance(i, SigningInterceptor) for i in interceptors)

    # ---- submitting --------------------------------------------------------

    async def apply(self, **application: Unpack[ApplicationFields]) -> SubmissionResult:
        """Submit an application (:class:`~starter.inputs.ApplicationFields`)
        and learn at once whether the preconditions passed (``accepted``) or
        which checks failed.

        Raises :class:`BadInput` before contacting Temporal, and
        :class:`ApplicationConflict` when one is already open for the customer.
        """
        return await self.submit(build_application(**application))

    async def request(
        self,
        customer_uin: str,
        *,
        notice_acknowledged: bool,
        submitter_uin: str | None = None,
        reason: str | None = None,
        deadlines: Deadlines | None = None,
        effective: Effective | str | None = None,
        application_id: str | None = None,
    ) -> SubmissionResult:
        """The customer's own request to leave its reseller (the mirror of
        :meth:`apply`): the customer is the initiator, its reseller reviews.
        ``submitter_uin`` defaults to the customer (a sub-user is refused by
        the ``root_account`` check)."""
        fields = ApplicationFields(
            customer_uin=customer_uin,
            initiator_uin=customer_uin,
            submitter_uin=submitter_uin,
            notice_acknowledged=notice_acknowledged,
            reason=reason,
            deadlines=deadlines,
            application_id=application_id,
            requested_by=Requester.CUSTOMER,
        )
        if effective is not None:
            fields["effective"] = effective
        return await self.apply(**fields)

    async def submit(self, application: ApplicationInput) -> SubmissionResult:
        """Start the workflow for an already-built application and wait for the
        precondition checks (update-with-start: one round trip, no race)."""
        application = revalidated(application, ApplicationInput)
        workflow_id = workflow_id_for(application.customer_uin)
        start = start_operation(application, task_queue=self.task_queue)
        with self._temporal_errors():
            try:
                # The SDK types an update declared with ``name=`` as returning its
                # coroutine; the call itself returns the coroutine's result.
                submitting = cast(
                    "Awaitable[SubmissionResult]",
                    self._client.execute_update_with_start_workflow(
                        UnbindingWorkflow.submission,
                        start_workflow_operation=start,
                        id=submission_update_id(application),
                    ),
                )
                return await self._answer(
                    submitting, waiting_for=f"the submission of {workflow_id}"
                )
            except WorkflowAlreadyStartedError as error:
                await consume_start_failure(start)
                raise ApplicationConflict(error.workflow_id, error.run_id) from None
            except RPCError:
                await consume_start_failure(start)
                raise
            except Unreachable as error:
                await consume_start_failure(start)
                answer = await self._ask_for_the_submission_again(application)
                if answer is not None:
                    return answer
                raise Unreachable(
                    f"{error.message} The application may have started: "
                    f"`unbind status --customer {application.customer_uin}` shows it."
                ) from None
            except WorkflowUpdateFailedError as error:
                raise Refused(_failure_message(error.cause)) from None

    async def submit_once(self, application: ApplicationInput) -> tuple[SubmissionResult, bool]:
        """Submit ``application`` unless this very application (its id) was
        submitted before, by an earlier, interrupted run of a batch: then its
        answer, read back, and True. Never starts a second run for it."""
        application = revalidated(application, ApplicationInput)
        earlier = await self._submitted_before(application)
        if earlier is not None:
            return earlier, True
        return await self.submit(application), False

    async def _submitted_before(self, application: ApplicationInput) -> SubmissionResult | None:
        """The submission answer of an application already started, or None.
        The customer's latest run is read by its workflow id (no lag); an
        older run of it (a later application followed) from the list view."""
        customer, application_id = application.customer_uin, application.application_id
        try:
            report = await self.report(customer)
        except Refused as error:
            if error.message.startswith("no application"):
                return None
            raise
        state = report.state
        if state.application_id != application_id:
            run = await self.run_of_application(customer, application_id)
            if run is None:
                return None
            state = await self.state_of_run(run.workflow_id, run.run_id)
        if state.initiator_uin != application.initiator_uin:
            # Another initiator's application under this id (a batch id can be
            # chosen or computed): not this caller's to read back; its own
            # submission is then refused for the id or the open application.
            return None
        if state.status is UnbindStatus.VALIDATING:
            # Started, not answered yet: the same update id gets the first answer.
            answer = await self._ask_for_the_submission_again(application)
            if answer is not None:
                return answer
        return submission_of(state)

    async def _ask_for_the_submission_again(
        self, application: ApplicationInput
    ) -> SubmissionResult | None:
        """The first answer can be lost even though the application started
        (seen once in 10,000 under a burst: the run's first workflow task timed
        out). If the open run is this application, ask it again under the same
        update id, which the server answers with the first outcome; None when
        it did not start or still cannot answer."""
        handle = self._client.get_workflow_handle(workflow_id_for(application.customer_uin))
        try:
            state = await self._answer(
                handle.query(UnbindingWorkflow.status),
                waiting_for=f"the status of {handle.id}",
            )
            if state.application_id != application.application_id:
                return None
            return await self._answer(
                handle.execute_update(
                    SUBMISSION_UPDATE,
                    id=submission_update_id(application),
                    result_type=SubmissionResult,
                ),
                waiting_for=f"the submission of {handle.id}",
            )
        except (Unreachable, RPCError, WorkflowQueryFailedError, WorkflowUpdateFailedError):
            return None

    # ---- people's actions (workflows.actions.ACTIONS) -------------------------

    async def perform(
        self,
        kind: ActionKind | str,
        customer_uin: str,
        *,
        actor: str,
        action_id: str | None = None,
        principal: str | None = None,
        **fields: Any,
    ) -> ActionResult:
        """Take any action by its kind, with its model's fields (``approve``,
        ``reason``, ...); see :meth:`act`. A fresh ``action_id`` unless given:
        give the one of an unanswered call to retry it."""
        action = action_of_kind(kind, actor=actor, action_id=action_id, **fields)
        return await self.act(customer_uin, action, principal=principal)

    async def reseller_review(
        self, customer_uin: str, *, actor: str, approve: bool, **options: Unpack[WithReason]
    ) -> ActionResult:
        """The reseller approves or rejects its customer's own request."""
        return await self.perform(
            "reseller_review", customer_uin, actor=actor, approve=approve, **options
        )

    async def review(
        self, customer_uin: str, *, actor: str, approve: bool, **options: Unpack[WithReason]
    ) -> ActionResult:
        """The distributor approves or rejects (second-level resellers only)."""
        return await self.perform("review", customer_uin, actor=actor, approve=approve, **options)

    async def confirm(
        self, customer_uin: str, *, actor: str, **options: Unpack[Options]
    ) -> ActionResult:
        """The customer agrees to be unbound."""
        return await self.perform("confirm", customer_uin, actor=actor, **options)

    async def reject(
        self, customer_uin: str, *, actor: str, **options: Unpack[WithReason]
    ) -> ActionResult:
        """The customer refuses to be unbound."""
        return await self.perform("reject", customer_uin, actor=actor, **options)

    async def card_bound(
        self, customer_uin: str, *, actor: str, **options: Unpack[Options]
    ) -> ActionResult:
        """The customer says a card is now bound; the workflow verifies it."""
        return await self.perform("card_bound", customer_uin, actor=actor, **options)

    async def withdraw(
        self, customer_uin: str, *, actor: str, **options: Unpack[WithReason]
    ) -> ActionResult:
        """The initiator withdraws the application (any time before cutover)."""
        return await self.perform("withdraw", customer_uin, actor=actor, **options)

    async def recheck(
        self, customer_uin: str, *, actor: str, **options: Unpack[Options]
    ) -> ActionResult:
        """The initiator or an operator asks for the final check again."""
        return await self.perform("recheck", customer_uin, actor=actor, **options)

    async def act(
        self,
        customer_uin: str,
        action: Action,
        *,
        principal: str | None = None,
        application_id: str | None = None,
    ) -> ActionResult:
        """Send an action as an update and return the workflow's answer.

        A business refusal (wrong actor, wrong state, an ended application) is an
        ``ActionResult`` with ``accepted=False`` and the current status, not an
        exception. The update id names the whole action (``update_id_for``), so a
        retried call gets the first call's answer. No answer in time is
        :class:`ActionUnanswered`, which names the ``action_id`` to retry with.
        A signing client names ``principal`` (default: the actor) and the
        application (``application_id``, default: the customer's latest, read
        first) in the action's signature; each send is signed afresh.
        """
        action = revalidated(action, Action)
        customer_uin = customer_ref(customer_uin)
        try:
            if self.signs and application_id is None:
                application_id = (await self.report(customer_uin)).state.application_id
            with signing_as(principal, application_id=application_id or ""):
                return await self._send(customer_uin, action)
        except ActionUnanswered:
            raise
        except Unreachable as error:
            raise ActionUnanswered(
                f"{error.message} The {action.kind.value} action may still be accepted: "
                f"send it again with action_id {action.action_id!r} to learn its answer "
                "(the same id has no second effect).",
                action_id=action.action_id,
            ) from None

    async def _send(self, customer_uin: str, action: Action) -> ActionResult:
        workflow_id = workflow_id_for(customer_uin)
        handle = self._client.get_workflow_handle(workflow_id)
        with self._temporal_errors():
            for attempt in range(1, UPDATE_ATTEMPTS + 1):
                try:
                    return await self._answer(
                        # The update's name is the action kind (SPEC section 4).
                        handle.execute_update(
                            action.kind.value,
                            action,
                            id=update_id_for(action),
                            result_type=ActionResult,
                        ),
                        waiting_for=f"the {action.kind.value} action on {workflow_id}",
                    )
                except WorkflowUpdateFailedError as error:
                    cause = error.cause
                    if isinstance(cause, ApplicationError) and cause.type == ACTION_REFUSED:
                        state = await self.status(customer_uin)
                        return ActionResult(
                            accepted=False, status=state.status, reason=cause.message
                        )
                    raise Refused(_failure_message(cause)) from None
                except RPCError as error:
                    if not (
                        no_such_workflow(error) or error.status == RPCStatusCode.FAILED_PRECONDITION
                    ):
                        raise
                    # report() refuses when no application ever existed.
                    report = await self.report(customer_uin)
                    if report.state.status.is_terminal or report.execution_status != "RUNNING":
                        return _answer_once_ended(report, action)
                    # Still running: the run is handing over to the next one
                    # (continue-as-new). The same id keeps the retry idempotent.
                    if attempt == UPDATE_ATTEMPTS:
                        raise
                    await asyncio.sleep(RESEND_AFTER.total_seconds())
            raise AssertionError("unreachable: the last attempt returns or raises")

    async def signal(self, customer_uin: str, action: Action) -> None:
        """Send an action as a signal: fire-and-forget. A refusal is recorded in
        the application's timeline instead of being answered."""
        action = revalidated(action, Action)
        workflow_id = workflow_id_for(customer_ref(customer_uin))
        with self._temporal_errors():
            try:
                await self._client.get_workflow_handle(workflow_id).signal(
                    action.kind.value, action
                )
            except RPCError as error:
                if no_such_workflow(error):
                    raise Refused(f"no open application for customer {customer_uin}") from None
                raise


def submission_of(state: UnbindingState) -> SubmissionResult:
    """The submission answer an application's state implies: accepted once it
    went past its submission checks into any wait or step."""
    passed = any(
        not t.status.is_terminal and t.status is not UnbindStatus.VALIDATING
        for t in state.transitions
    ) or not (state.status.is_terminal or state.status is UnbindStatus.VALIDATING)
    return SubmissionResult(
        accepted=passed,
        workflow_id=state.workflow_id,
        status=state.status,
        failed_checks=[] if passed else state.failed_checks,
    )


def _answer_once_ended(report: StatusReport, action: Action) -> ActionResult:
    """An ended application answers a retry of an action it accepted (its
    first answer was lost) as accepted, and any other action as refused. One
    stopped by an operator (terminated, failed, timed out) has ended too,
    though its state still shows the status it was stopped in."""
    state = report.state
    if any(_is_this_action(entry, action) and entry.accepted for entry in state.timeline):
        return ActionResult(accepted=True, status=state.status)
    reason = "the application has already ended"
    if not state.status.is_terminal:
        reason += f": its run was stopped ({report.execution_status}) in {state.status}"
    return ActionResult(accepted=False, status=state.status, reason=reason)


def _is_this_action(entry: TimelineEntry, action: Action) -> bool:
    """The timeline's entry of this very action: the same id, kind, actor and,
    for a review, verdict. An id alone is not enough: ids show in the timeline,
    and another party's (or another kind of) action reusing one is not the
    action that was taken."""
    verdict = getattr(action, "approve", None)
    return (
        entry.action_id == action.action_id
        and entry.action == action.kind.value
        and entry.actor == action.actor
        and (entry.approve is None or entry.approve == verdict)
    )


def _failure_message(cause: BaseException) -> str:
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause)


__all__ = [
    "ActionUnanswered",
    "ApplicationConflict",
    "ApplicationSummary",
    "BadInput",
    "Refused",
    "RunReport",
    "StatusReport",
    "UnbindingClient",
    "Unreachable",
    "build_action",
    "build_application",
    "build_deadlines",
    "customer_ref",
]
