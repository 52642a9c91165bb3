"""People's actions arriving at the workflow: each kind is a signal and an
update (``workflows.actions``), and both come through here.

A payload is validated into its action (or refused, naming the field); the
rules decide whether the action may be taken now; an accepted action fills
its decision slot for the story to consume; every answer is kept by action
id, so a repeat gets the first answer and has no second effect.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows import rules
from workflows.actions import ACTIONS, Decision
from workflows.contract import ACTION_REFUSED, INVALID_ACTION
from workflows.model import (
    Action,
    ActionKind,
    ActionResult,
    SubmissionResult,
    TimelineEntry,
    UnbindStatus,
)
from workflows.settings import SETTINGS
from workflows.state import Answer, WorkflowState

_Parsed = TypeVar("_Parsed", bound=BaseModel)


def one_message(
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


def action_in(kind: ActionKind, payload: tuple[Any, ...]) -> Action:
    """The one action a signal or update carries, validated here rather than
    by the SDK: it would fail the workflow task on a signal with no argument
    or several (retried forever, wedging the application), and answer such
    an update with a Python error instead of naming the field."""
    return one_message(
        ACTIONS[kind].model,
        payload,
        carrier=f"a {kind}",
        name=f"{kind} action",
        error_type=INVALID_ACTION,
    )


def log(
    state: WorkflowState,
    actor: str,
    action: str,
    accepted: bool,
    reason: str | None = None,
    action_id: str | None = None,
) -> None:
    """An entry in the timeline the ``status`` query shows."""
    public = state.public
    # A hostile client could flood rejected actions; keep history bounded.
    if not accepted and len(public.timeline) >= SETTINGS.max_timeline_entries:
        public.unlogged_rejections += 1
        return
    public.timeline.append(
        TimelineEntry(
            at=workflow.now(),
            actor=actor,
            action=str(action),
            accepted=accepted,
            reason=reason,
            action_id=action_id,
        )
    )


def answer(state: WorkflowState, action: Action, accepted: bool, reason: str | None) -> None:
    """Answer ``action`` once and for all, and log the answer."""
    state.answers[action.action_id] = Answer(accepted=accepted, reason=reason)
    log(state, action.actor, action.kind, accepted, reason, action.action_id)


class Intake:
    """The signal and update handlers' side of the workflow."""

    def __init__(self, state: WorkflowState) -> None:
        self._state = state

    def on_signal(self, kind: ActionKind, payload: tuple[Any, ...]) -> None:
        """A refusal is logged in the timeline; a malformed signal cannot be
        answered: it is logged and dropped."""
        try:
            action = action_in(kind, payload)
        except ApplicationError as error:
            workflow.logger.warning("dropped a malformed signal: %s", error.message)
            return
        if self._state.seen(action.action_id):
            return
        reason = self._refusal(action)
        if reason is None:
            self._accept(action)
        else:
            answer(self._state, action, False, reason)

    def validate(self, kind: ActionKind, payload: tuple[Any, ...]) -> None:
        """Update validator: a refusal writes no history."""
        action = action_in(kind, payload)
        if self._state.seen(action.action_id):
            # A repeat gets its first answer; a refusal (of an earlier signal)
            # is repeated here too, so it writes no history either.
            earlier = self._state.answers.get(action.action_id)
            if earlier is not None and not earlier.accepted:
                raise ApplicationError(
                    earlier.reason or "refused", type=ACTION_REFUSED, non_retryable=True
                )
            return
        reason = self._refusal(action)
        if reason is not None:
            raise ApplicationError(reason, type=ACTION_REFUSED, non_retryable=True)

    async def on_update(self, kind: ActionKind, payload: tuple[Any, ...]) -> ActionResult:
        """Answers once the story is back to waiting for people (or ended)."""
        state = self._state
        action = action_in(kind, payload)
        if not state.seen(action.action_id):
            self._accept(action)
        await workflow.wait_condition(lambda: action.action_id in state.answers and state.settled)
        given = state.answers[action.action_id]
        return ActionResult(accepted=given.accepted, status=state.status, reason=given.reason)

    async def on_submission(self) -> SubmissionResult:
        """Answers once the preconditions are checked: accepted, or which failed."""
        state = self._state
        await workflow.wait_condition(
            lambda: state.status is not UnbindStatus.VALIDATING and state.settled
        )
        return SubmissionResult(
            accepted=state.status not in (UnbindStatus.PRECHECK_FAILED, UnbindStatus.CANCELLED),
            workflow_id=state.public.workflow_id,
            status=state.status,
            failed_checks=state.public.failed_checks,
        )

    def _refusal(self, action: Action) -> str | None:
        state = self._state
        if state.decided(Decision.WITHDRAWAL) and action.kind is not ActionKind.WITHDRAW:
            return "the application is being withdrawn"
        reason = rules.refusal(state.status, action, state.roles)
        if reason is None and state.decided(ACTIONS[action.kind].decision):
            # One decision per wait: the first accepted one wins.
            reason = f"a {action.kind} is already being processed"
        return reason

    def _accept(self, action: Action) -> None:
        state, spec = self._state, ACTIONS[action.kind]
        state.settled = False
        state.decisions[spec.decision] = action
        if spec.answered_by_story:
            return
        # Accepted: the answer carries no reason; the timeline keeps the actor's.
        state.answers[action.action_id] = Answer(accepted=True)
        reason = getattr(action, "reason", None)
        log(state, action.actor, action.kind, True, reason, action.action_id)
