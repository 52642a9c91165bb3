"""The typed async API backend services use to start applications and forward
people's actions to them.

Every input is validated by the message models before Temporal is contacted, so
bad input (:class:`~starter.errors.BadInput`) never starts or signals anything.
Business refusals are :class:`~starter.errors.Refused` (or, for an action, an
``ActionResult`` with ``accepted=False``); Temporal trouble is
:class:`~starter.errors.Unreachable`.

    client = await UnbindingClient.connect()
    result = await client.apply(customer_uin="20000000001", initiator_uin="10000001",
                                notice_acknowledged=True)
    await client.confirm("20000000001", actor="20000000001")
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Awaitable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, ValidationError
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from starter.connection import connect_client, connect_config, task_queue_from_env
from starter.errors import (
    OPTION_NAMES,
    ApplicationConflict,
    BadInput,
    Refused,
    Unreachable,
    bad_input_from,
    describe_duration,
)
from workflows.contract import ACTION_REFUSED, DEFAULT_TASK_QUEUE, workflow_id_for
from workflows.model import (
    Action,
    ActionResult,
    NEW_TEXT,
    ApplicationInput,
    CardBoundAction,
    ConfirmAction,
    Deadlines,
    RecheckAction,
    RejectAction,
    ReviewAction,
    SubmissionResult,
    Uin,
    UnbindingState,
    UnbindStatus,
    WithdrawAction,
)
from workflows.search_attributes import (
    CUSTOMER_UIN,
    DISTRIBUTOR_UIN,
    RESELLER_UIN,
    UNBIND_DEADLINE,
    UNBIND_STATUS,
)
from workflows.texts import markdown_text
from workflows.unbinding import UnbindingWorkflow

DEFAULT_ANSWER_TIMEOUT = timedelta(seconds=30)
"""How long to wait for the workflow to answer an update or query. A worker
answers in well under a second; silence this long means none is polling."""

UPDATE_ATTEMPTS = 10
"""How often an action is sent again while its run is handing over to the next
(continue-as-new): the server answers "not ready" or "not found" meanwhile."""
RESEND_AFTER = timedelta(milliseconds=300)

_T = TypeVar("_T")
_A = TypeVar("_A", bound=Action)


class ApplicationSummary(BaseModel):
    """One row of ``list``: what the search attributes say about an application."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    status: UnbindStatus | None
    customer_uin: str | None
    reseller_uin: str | None
    distributor_uin: str | None
    deadline: datetime | None
    execution_status: str | None = None
    """Temporal's view of the run: RUNNING, COMPLETED, TERMINATED, ..."""
    started_at: datetime | None = None


class StatusReport(BaseModel):
    """An application's state with Temporal's view of its latest run."""

    model_config = ConfigDict(frozen=True)

    state: UnbindingState
    execution_status: str
    """RUNNING, COMPLETED, or TERMINATED/FAILED/TIMED_OUT for a hard stop."""
    run_id: str


class RunReport(BaseModel):
    """One workflow run of an application, as Temporal describes it."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    run_id: str
    application_id: str
    execution_status: str
    """RUNNING, COMPLETED, CONTINUED_AS_NEW, or TERMINATED/FAILED/TIMED_OUT
    for a run that stopped without the workflow closing its record."""
    closed_at: datetime | None


# ---- validation before anything is contacted --------------------------------


class _CustomerRef(BaseModel):
    customer_uin: Uin


class _ListFilter(BaseModel):
    status: UnbindStatus | None = None
    reseller_uin: Uin | None = None
    distributor_uin: Uin | None = None


_LIST_OPTIONS = {
    "status": "--status",
    "reseller_uin": "--reseller",
    "distributor_uin": "--distributor",
}


_M = TypeVar("_M", bound=BaseModel)


def _validated(
    build: type[_M], fields: Mapping[str, Any], *, options: Mapping[str, str] = OPTION_NAMES
) -> _M:
    """``build`` from ``fields``, with free text held to the rule for new text
    (one visible line, :func:`~workflows.model.new_text_problem`); the models
    the workflow decodes stay as lenient as the values already recorded."""
    try:
        return build.model_validate(fields, context={NEW_TEXT: True})
    except ValidationError as error:
        raise bad_input_from(error, options=options) from None


def _revalidated(message: _M, expected: type[_M]) -> _M:
    """A message checked again before it leaves: one made with
    ``model_construct`` or mutated after building skipped validation."""
    if not isinstance(message, expected):
        raise BadInput(None, f"expected {expected.__name__}, got {type(message).__name__}")
    return _validated(type(message), message.model_dump(warnings=False))


def customer_ref(customer_uin: str) -> str:
    """The customer UIN, validated; raises :class:`BadInput` naming ``--customer``."""
    return _validated(_CustomerRef, {"customer_uin": customer_uin}).customer_uin


def build_application(
    *,
    customer_uin: str,
    initiator_uin: str,
    submitter_uin: str | None = None,
    notice_acknowledged: bool,
    reason: str | None = None,
    deadlines: Deadlines | None = None,
    application_id: str | None = None,
) -> ApplicationInput:
    """A validated application, acknowledged now; raises :class:`BadInput`.

    ``submitter_uin`` is the account actually submitting (the initiator's root
    account, or one of its sub-users, which the precondition checks refuse).
    """
    return _validated(
        ApplicationInput,
        {
            # Only an absent id is generated: an empty one is a caller's bug.
            "application_id": application_id if application_id is not None else uuid4().hex,
            "customer_uin": customer_uin,
            "initiator_uin": initiator_uin,
            "submitter_uin": submitter_uin if submitter_uin is not None else initiator_uin,
            "notice_acknowledged": notice_acknowledged,
            "acknowledged_at": datetime.now(UTC),
            "reason": reason,
            "deadlines": deadlines if deadlines is not None else Deadlines(),
        },
    )


def build_deadlines(**overrides: timedelta | None) -> Deadlines:
    """Per-application deadlines: defaults, with the given waits overridden
    (``distributor_review``, ``customer_confirmation``, ``card_binding``,
    ``remediation``) within the bounds in settings."""
    return _validated(Deadlines, {k: v for k, v in overrides.items() if v is not None})


def build_action(kind: type[_A], *, actor: str, action_id: str | None = None, **fields: Any) -> _A:
    """A validated action with a fresh ``action_id`` unless one is given."""
    # Only an absent id is generated: an empty one silently replaced would make
    # every retry of the caller a new action.
    action_id = action_id if action_id is not None else uuid4().hex
    return _validated(kind, {"actor": actor, "action_id": action_id, **fields})


def _list_query(selection: _ListFilter) -> str:
    # Values are validated (enum, UIN digits), so quoting them cannot break out.
    clauses = ["WorkflowType = 'Unbinding'"]
    if selection.status is not None:
        clauses.append(f"{UNBIND_STATUS.name} = '{selection.status.value}'")
    if selection.reseller_uin is not None:
        clauses.append(f"{RESELLER_UIN.name} = '{selection.reseller_uin}'")
    if selection.distributor_uin is not None:
        clauses.append(f"{DISTRIBUTOR_UIN.name} = '{selection.distributor_uin}'")
    return " AND ".join(clauses)


def _static_details(application: ApplicationInput) -> str:
    """Markdown for the Web UI: the parties, the acknowledged notice, the deadlines."""
    deadlines = application.deadlines
    reminders = ", ".join(describe_duration(r) for r in deadlines.reminders_before) or "none"
    facts = [
        f"**Customer:** {application.customer_uin}",
        f"**Reseller (initiator):** {application.initiator_uin}",
        f"**Submitted by:** {application.submitter_uin}",
        f"**Notice acknowledged by** {application.submitter_uin} "
        f"**at** {application.acknowledged_at.isoformat()}",
        f"**Application id:** {application.application_id}",
    ]
    if application.reason:
        facts.append(f"**Reason:** {markdown_text(application.reason)}")
    waits = [
        f"- distributor review: {describe_duration(deadlines.distributor_review)}",
        f"- customer confirmation: {describe_duration(deadlines.customer_confirmation)}",
        f"- card binding: {describe_duration(deadlines.card_binding)}",
        f"- remediation: {describe_duration(deadlines.remediation)}",
        f"- reminders before each deadline: {reminders}",
    ]
    return "  \n".join(facts) + "\n\n**Deadlines**\n\n" + "\n".join(waits) + "\n"


class UnbindingClient:
    """Starts unbinding applications and forwards people's actions to them."""

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str = DEFAULT_TASK_QUEUE,
        answer_timeout: timedelta = DEFAULT_ANSWER_TIMEOUT,
    ) -> None:
        self._client = client
        self.task_queue = task_queue
        self.answer_timeout = answer_timeout

    @classmethod
    async def connect(cls, *, task_queue: str | None = None) -> UnbindingClient:
        """Connect using the standard Temporal environment configuration
        (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, TLS
        variables, profiles); the task queue from ``UNBIND_TASK_QUEUE``."""
        try:
            config = connect_config()
        except Exception as error:
            raise Unreachable(f"cannot load the Temporal client configuration: {error}") from error
        address = config["target_host"]
        try:
            client = await connect_client(config)
        except Exception as error:
            raise Unreachable(f"cannot reach Temporal at {address}: {error}") from error
        return cls(
            client,
            task_queue=task_queue or task_queue_from_env(),
        )

    @property
    def temporal(self) -> Client:
        """The underlying Temporal client, for anything this API does not cover."""
        return self._client

    # ---- submitting --------------------------------------------------------

    async def apply(
        self,
        *,
        customer_uin: str,
        initiator_uin: str,
        submitter_uin: str | None = None,
        notice_acknowledged: bool,
        reason: str | None = None,
        deadlines: Deadlines | None = None,
        application_id: str | None = None,
    ) -> SubmissionResult:
        """Submit an application and learn at once whether the preconditions
        passed (``accepted``) or which checks failed.

        Raises :class:`BadInput` before contacting Temporal, and
        :class:`ApplicationConflict` when one is already open for the customer.
        """
        application = build_application(
            customer_uin=customer_uin,
            initiator_uin=initiator_uin,
            submitter_uin=submitter_uin,
            notice_acknowledged=notice_acknowledged,
            reason=reason,
            deadlines=deadlines,
            application_id=application_id,
        )
        return await self.submit(application)

    async def submit(self, application: ApplicationInput) -> SubmissionResult:
        """Start the workflow for an already-built application and wait for the
        precondition checks (update-with-start: one round trip, no race)."""
        application = _revalidated(application, ApplicationInput)
        workflow_id = workflow_id_for(application.customer_uin)
        start = WithStartWorkflowOperation(
            UnbindingWorkflow.run,
            application,
            id=workflow_id,
            # One open application per customer; a closed one may be followed
            # by a new one (the default reuse policy allows it).
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            task_queue=self.task_queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(UNBIND_STATUS, UnbindStatus.VALIDATING.value),
                    SearchAttributePair(CUSTOMER_UIN, application.customer_uin),
                    SearchAttributePair(RESELLER_UIN, application.initiator_uin),
                ]
            ),
            static_summary=(
                f"Unbind customer {application.customer_uin} "
                f"from reseller {application.initiator_uin}"
            ),
            static_details=_static_details(application),
        )
        with self._temporal_errors():
            try:
                # The SDK types an update declared with ``name=`` as returning its
                # coroutine; the call itself returns the coroutine's result.
                submitting = cast(
                    "Awaitable[SubmissionResult]",
                    self._client.execute_update_with_start_workflow(
                        UnbindingWorkflow.submission,
                        start_workflow_operation=start,
                        id=_submission_update_id(application),
                    ),
                )
                return await self._answer(
                    submitting, waiting_for=f"the submission of {workflow_id}"
                )
            except WorkflowAlreadyStartedError as error:
                await _consume_start_failure(start)
                raise ApplicationConflict(error.workflow_id, error.run_id) from None
            except RPCError:
                await _consume_start_failure(start)
                raise
            except Unreachable as error:
                await _consume_start_failure(start)
                answer = await self._ask_for_the_submission_again(application)
                if answer is not None:
                    return answer
                raise Unreachable(
                    f"{error.message} The application may have started: "
                    f"`unbind status --customer {application.customer_uin}` shows it."
                ) from None
            except WorkflowUpdateFailedError as error:
                raise Refused(_failure_message(error.cause)) from None

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
                    "submission",
                    id=_submission_update_id(application),
                    result_type=SubmissionResult,
                ),
                waiting_for=f"the submission of {handle.id}",
            )
        except (Unreachable, RPCError, WorkflowQueryFailedError, WorkflowUpdateFailedError):
            return None

    # ---- people's actions ----------------------------------------------------

    async def review(
        self,
        customer_uin: str,
        *,
        actor: str,
        approve: bool,
        reason: str | None = None,
        action_id: str | None = None,
    ) -> ActionResult:
        """The distributor approves or rejects (second-level resellers only)."""
        action = build_action(
            ReviewAction, actor=actor, action_id=action_id, approve=approve, reason=reason
        )
        return await self.act(customer_uin, action)

    async def confirm(
        self, customer_uin: str, *, actor: str, action_id: str | None = None
    ) -> ActionResult:
        """The customer agrees to be unbound."""
        action = build_action(ConfirmAction, actor=actor, action_id=action_id)
        return await self.act(customer_uin, action)

    async def reject(
        self,
        customer_uin: str,
        *,
        actor: str,
        reason: str | None = None,
        action_id: str | None = None,
    ) -> ActionResult:
        """The customer refuses to be unbound."""
        action = build_action(RejectAction, actor=actor, action_id=action_id, reason=reason)
        return await self.act(customer_uin, action)

    async def card_bound(
        self, customer_uin: str, *, actor: str, action_id: str | None = None
    ) -> ActionResult:
        """The customer says a card is now bound; the workflow verifies it."""
        action = build_action(CardBoundAction, actor=actor, action_id=action_id)
        return await self.act(customer_uin, action)

    async def withdraw(
        self,
        customer_uin: str,
        *,
        actor: str,
        reason: str | None = None,
        action_id: str | None = None,
    ) -> ActionResult:
        """The initiator withdraws the application (any time before cutover)."""
        action = build_action(WithdrawAction, actor=actor, action_id=action_id, reason=reason)
        return await self.act(customer_uin, action)

    async def recheck(
        self, customer_uin: str, *, actor: str, action_id: str | None = None
    ) -> ActionResult:
        """The initiator or an operator asks for the final check again."""
        action = build_action(RecheckAction, actor=actor, action_id=action_id)
        return await self.act(customer_uin, action)

    async def act(self, customer_uin: str, action: Action) -> ActionResult:
        """Send an action as an update and return the workflow's answer.

        A business refusal (wrong actor, wrong state, an ended application) is an
        ``ActionResult`` with ``accepted=False`` and the current status, not an
        exception. The ``action_id`` doubles as the update id, so a retried call
        gets the first call's answer.
        """
        action = _revalidated(action, Action)
        workflow_id = workflow_id_for(customer_ref(customer_uin))
        handle = self._client.get_workflow_handle(workflow_id)
        with self._temporal_errors():
            for attempt in range(1, UPDATE_ATTEMPTS + 1):
                try:
                    return await self._answer(
                        # The update's name is the action kind (SPEC section 4).
                        handle.execute_update(
                            action.kind.value,
                            action,
                            id=action.action_id,
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
                    if error.status not in (
                        RPCStatusCode.NOT_FOUND,
                        RPCStatusCode.FAILED_PRECONDITION,
                    ):
                        raise
                    # status() refuses when no application ever existed.
                    state = await self.status(customer_uin)
                    if state.status.is_terminal:
                        return ActionResult(
                            accepted=False,
                            status=state.status,
                            reason="the application has already ended",
                        )
                    # Still open: the run is handing over to the next one
                    # (continue-as-new). The same id keeps the retry idempotent.
                    if attempt == UPDATE_ATTEMPTS:
                        raise
                    await asyncio.sleep(RESEND_AFTER.total_seconds())
            raise AssertionError("unreachable: the last attempt returns or raises")

    async def signal(self, customer_uin: str, action: Action) -> None:
        """Send an action as a signal: fire-and-forget. A refusal is recorded in
        the application's timeline instead of being answered."""
        action = _revalidated(action, Action)
        workflow_id = workflow_id_for(customer_ref(customer_uin))
        with self._temporal_errors():
            try:
                await self._client.get_workflow_handle(workflow_id).signal(
                    action.kind.value, action
                )
            except RPCError as error:
                if error.status == RPCStatusCode.NOT_FOUND:
                    raise Refused(f"no open application for customer {customer_uin}") from None
                raise

    # ---- reading -------------------------------------------------------------

    async def status(self, customer_uin: str) -> UnbindingState:
        """The full state of the customer's latest application, open or ended."""
        return (await self.report(customer_uin)).state

    async def report(self, customer_uin: str) -> StatusReport:
        """:meth:`status` plus Temporal's view of the run, which tells apart an
        application that ended by itself from one an operator terminated (its
        state is then as of the termination)."""
        customer = customer_ref(customer_uin)
        workflow_id = workflow_id_for(customer)
        with self._temporal_errors():
            try:
                description = await self._client.get_workflow_handle(workflow_id).describe()
            except RPCError as error:
                if error.status == RPCStatusCode.NOT_FOUND:
                    raise Refused(f"no application for customer {customer}") from None
                raise
            run = description.status.name if description.status else "UNKNOWN"
            handle: WorkflowHandle[Any, UnbindingState] = self._client.get_workflow_handle_for(
                UnbindingWorkflow.run, workflow_id, run_id=description.run_id
            )
            if description.status == WorkflowExecutionStatus.COMPLETED:
                state = await handle.result(follow_runs=False)
                return StatusReport(state=state, execution_status=run, run_id=description.run_id)
            try:
                state = await self._answer(
                    handle.query(UnbindingWorkflow.status),
                    waiting_for=f"the status of {workflow_id}",
                )
            except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as error:
                raise Refused(
                    f"application {workflow_id} ({run}) cannot report its state: {error}"
                ) from None
            return StatusReport(state=state, execution_status=run, run_id=description.run_id)

    async def list(
        self,
        *,
        status: UnbindStatus | str | None = None,
        reseller_uin: str | None = None,
        distributor_uin: str | None = None,
        limit: int | None = None,
    ) -> builtins.list[ApplicationSummary]:
        """Applications matching the filters, newest first, from the search
        attributes (visibility is eventually consistent: a change may take a
        moment to show)."""
        selection = _validated(
            _ListFilter,
            {"status": status, "reseller_uin": reseller_uin, "distributor_uin": distributor_uin},
            options=_LIST_OPTIONS,
        )
        summaries = []
        with self._temporal_errors():
            async for execution in self._client.list_workflows(_list_query(selection), limit=limit):
                attributes = execution.typed_search_attributes
                raw_status = attributes.get(UNBIND_STATUS)
                summaries.append(
                    ApplicationSummary(
                        workflow_id=execution.id,
                        status=UnbindStatus(raw_status) if raw_status else None,
                        customer_uin=attributes.get(CUSTOMER_UIN),
                        reseller_uin=attributes.get(RESELLER_UIN),
                        distributor_uin=attributes.get(DISTRIBUTOR_UIN),
                        deadline=attributes.get(UNBIND_DEADLINE),
                        execution_status=execution.status.name if execution.status else None,
                        started_at=execution.start_time,
                    )
                )
        return summaries

    async def run_of_application(self, customer_uin: str, application_id: str) -> RunReport | None:
        """The newest run of one application of the customer, as Temporal
        describes it now (an application continued as new has several runs;
        later applications of the same customer reuse the workflow id). None
        when the list view knows no run of it (it may lag a moment behind)."""
        workflow_id = workflow_id_for(customer_ref(customer_uin))
        with self._temporal_errors():
            runs = [
                execution
                async for execution in self._client.list_workflows(
                    # The id is built from a validated UIN: nothing to escape.
                    f"WorkflowId = '{workflow_id}'"
                )
            ]
            runs.sort(key=lambda execution: execution.start_time, reverse=True)
            for execution in runs:
                handle = self._client.get_workflow_handle(workflow_id, run_id=execution.run_id)
                if await self._application_id_of(handle) != application_id:
                    continue
                description = await handle.describe()
                return RunReport(
                    workflow_id=workflow_id,
                    run_id=execution.run_id,
                    application_id=application_id,
                    execution_status=description.status.name if description.status else "UNKNOWN",
                    closed_at=description.close_time,
                )
        return None

    async def _application_id_of(self, handle: WorkflowHandle[Any, Any]) -> str | None:
        """The application a run serves, from its start event's input."""
        async for event in handle.fetch_history_events():
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            if not payloads:
                return None
            [started_with] = await self._client.data_converter.decode(payloads[:1], [dict])
            application_id = started_with.get("application_id")
            return application_id if isinstance(application_id, str) else None
        return None

    # ---- plumbing --------------------------------------------------------------

    async def _answer(self, call: Awaitable[_T], *, waiting_for: str) -> _T:
        """Await a call a worker must answer; silence means no worker is polling."""
        try:
            return await asyncio.wait_for(call, self.answer_timeout.total_seconds())
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            raise Unreachable(
                f"no answer for {waiting_for} within {describe_duration(self.answer_timeout)}: "
                f"no worker is polling task queue {self.task_queue!r}, or the application "
                "is still busy."
            ) from None

    @contextmanager
    def _temporal_errors(self) -> Iterator[None]:
        """Any RPC failure not handled as a business answer means Temporal
        cannot serve us (down, misconfigured, unauthorized)."""
        try:
            yield
        except RPCError as error:
            address = self._client.service_client.config.target_host
            raise Unreachable(f"Temporal at {address}: {error.message}") from error


async def _consume_start_failure(start: WithStartWorkflowOperation[Any, Any]) -> None:
    """A failed update-with-start also fails the operation's handle future;
    retrieve that failure so asyncio does not report it as never retrieved."""
    # The future is already settled here; a CancelledError in it is the SDK's
    # record of the timed-out call, not a cancellation of this task.
    with suppress(Exception, asyncio.CancelledError):
        await start.workflow_handle()


def _submission_update_id(application: ApplicationInput) -> str:
    return f"submission-{application.application_id}"


def _failure_message(cause: BaseException) -> str:
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause)


__all__ = [
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
