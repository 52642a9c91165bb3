"""People's actions arriving at the workflow: each kind is a signal and an
update (``workflows.actions``), and both come through here.

A payload is validated into its action (or refused, naming the field); the
rules decide whether the action may be taken now; an accepted action fills
its decision slot for the story to consume; every answer is kept by the
whole action (``state.action_key``: id, kind, fields, actor), so a repeat
gets the first answer and has no second effect, while another action reusing
its id is refused rather than answered for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import partial
from itertools import islice
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows import metrics, rules
from workflows.actions import ACTIONS, Decision
from workflows.contract import ACTION_REFUSED, INVALID_ACTION
from workflows.fields import is_operator
from workflows.model import (
    Action,
    ActionKind,
    ActionResult,
    SubmissionResult,
    TimelineEntry,
    UnbindStatus,
)
from workflows.patches import PARTY_SIGNALS_REFUSED_PATCH, SCOPED_IDS_PATCH, patched
from workflows.settings import SETTINGS
from workflows.state import Answer, WorkflowState, action_key, id_and_actor, legacy_key

_Parsed = TypeVar("_Parsed", bound=BaseModel)


UNSIGNED_SIGNAL = (
    "a party's action must be signed: send it as an update through the API, not as a signal"
)


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
    principal: str | None = None,
    decided: Action | None = None,
) -> None:
    """An entry in the timeline the ``status`` query shows; for a party's
    ``decided`` action, the verdict and the hash of the text it was shown."""
    metrics.action_answered(str(action), accepted=accepted)
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
            principal=principal,
            text_sha256=getattr(decided, "text_sha256", None),
            approve=getattr(decided, "approve", None),
        )
    )


def answer(state: WorkflowState, action: Action, accepted: bool, reason: str | None) -> None:
    """Answer ``action`` once and for all, and log the answer (with the
    principal its signature named when it was accepted, if any)."""
    key = action_key(action)
    state.answers[key] = Answer(accepted=accepted, reason=reason)
    principal = state.principals.pop(key, None)
    log(state, action.actor, action.kind, accepted, reason, action.action_id, principal, action)


def reused(action: Action) -> str:
    """The refusal of an action whose id was already used for another one."""
    return f"action id {action.action_id} was already used for another action"


def unchecked_at_the_end(status: UnbindStatus) -> str:
    """The answer to an accepted claim the story never got to check."""
    return f"not checked: the application ended as {status}"


def answer_the_unanswered(state: WorkflowState) -> None:
    """Refuse every accepted action the story still owed an answer (a card
    claim not yet verified): the application has ended, and an update left
    unanswered would keep the run open for ever."""
    for action in state.awaiting_the_story():
        answer(state, action, False, unchecked_at_the_end(state.status))


def _nothing() -> None:
    pass


class Intake:
    """The signal and update handlers' side of the workflow."""

    def __init__(self, state: WorkflowState) -> None:
        self._state = state
        # ``state.answers`` by action id, caught up as answers are added.
        self._keys_by_id: defaultdict[str, list[str]] = defaultdict(list)
        self._indexed: dict[str, Answer] | None = None
        self._indexed_count = 0
        # Set by the worker's interceptor (``workflows.signed_actions``), never
        # read from the environment here.
        self.signatures_required = False
        """The worker requires signed actions (read once per run, see below)."""
        self.principals: dict[str, str] = {}
        """Verified principals by update id, for the update handlers."""
        self._policy_read = False
        self.on_accepted: Callable[[], None] = _nothing
        """Called inside the handler that accepts an action; the worker's
        tracing interceptor (``starter.action_tracing``) remembers the
        action's trace there. It must issue no command."""

    @property
    def application_id(self) -> str:
        """The application this run serves (a signature names it)."""
        return self._state.public.application_id

    def party_signals_refused(self) -> bool:
        """Whether this application refuses parties' signals. Decided in the
        run's first workflow task (the story asks before anything else) and
        recorded as a patch marker when it applies; a replay reads the marker
        whatever the replaying worker's flag or keys, and a run handed over
        under the policy stays under it."""
        state = self._state
        if not self._policy_read:
            self._policy_read = True
            if not state.party_signals_refused and (
                self.signatures_required or workflow.unsafe.is_replaying()
            ):
                state.party_signals_refused = workflow.patched(PARTY_SIGNALS_REFUSED_PATCH)
        return state.party_signals_refused

    def on_signal(self, kind: ActionKind, payload: tuple[Any, ...]) -> None:
        """A refusal is logged in the timeline; a malformed signal cannot be
        answered: it is logged and dropped."""
        try:
            action = action_in(kind, payload)
        except ApplicationError as error:
            workflow.logger.warning("dropped a malformed signal: %s", error.message)
            return
        if self._known(action) or self._unscoped(action):
            return
        if not is_operator(action.actor) and self.party_signals_refused():
            reason: str | None = UNSIGNED_SIGNAL
        else:
            reason = self._refusal(action)
        if reason is None:
            self._accept(action)
        else:
            answer(self._state, action, False, reason)

    def validate(self, kind: ActionKind, payload: tuple[Any, ...]) -> None:
        """Update validator: a refusal writes no history."""
        action = action_in(kind, payload)
        # A repeat gets its first answer; a refusal (of an earlier signal) is
        # repeated here too, so it writes no history either.
        earlier = self._state.answered(action)
        if earlier is not None and not earlier.accepted:
            raise ApplicationError(
                earlier.reason or "refused", type=ACTION_REFUSED, non_retryable=True
            )
        if earlier is not None or self._state.pending(action):
            return
        reason = self._refusal(action)
        if reason is not None:
            metrics.action_answered(str(kind), accepted=False)
            raise ApplicationError(reason, type=ACTION_REFUSED, non_retryable=True)

    async def on_update(self, kind: ActionKind, payload: tuple[Any, ...]) -> ActionResult:
        """Answers once the story has taken the decision and is back to
        waiting for people, or once the application has ended (whatever ended
        it: an unanswered update would keep the run open)."""
        state = self._state
        action = action_in(kind, payload)
        update = workflow.current_update_info()
        principal = self.principals.pop(update.id, None) if update is not None else None
        given_to: Callable[[], Answer | None] = partial(state.answered, action)
        if self._known(action):
            pass
        elif self._unscoped(action):
            given_to = partial(self._first_answer, action.action_id)
        elif self._reused(action):
            # Taken by another action since the validator ran.
            answer(state, action, False, reused(action))
        else:
            self._accept(action, principal)
        await workflow.wait_condition(
            lambda: state.settled and (given_to() is not None or state.status.is_terminal)
        )
        given = given_to()
        if given is None:
            answer(state, action, False, unchecked_at_the_end(state.status))
            given = state.answered(action)
            assert given is not None
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
            plan=state.public.plan if state.validated else None,
        )

    def _known(self, action: Action) -> bool:
        """This very action was answered, or accepted and waiting for the story."""
        return self._state.answered(action) is not None or self._state.pending(action)

    def _refusal(self, action: Action) -> str | None:
        state = self._state
        if self._reused(action):
            return reused(action)
        if state.decided(Decision.WITHDRAWAL) and action.kind is not ActionKind.WITHDRAW:
            return "the application is being withdrawn"
        reason = rules.refusal(state.status, action, state.roles)
        if reason is None and state.decided(ACTIONS[action.kind].decision):
            # One decision per wait: the first accepted one wins.
            reason = f"a {action.kind} is already being processed"
        return reason

    def _unscoped(self, action: Action) -> bool:
        """True when the run began before ids were scoped to the action and
        ``action``'s id was used before: then it counts as a repeat."""
        state, action_id = self._state, action.action_id
        used = bool(self._keys_with(action_id)) or any(
            waiting.action_id == action_id for waiting in state.awaiting_the_story()
        )
        return used and not patched(SCOPED_IDS_PATCH)

    def _first_answer(self, action_id: str) -> Answer | None:
        """The answer an id got first (what a repeat got before ids were scoped)."""
        keys = self._keys_with(action_id)
        return self._state.answers[keys[0]] if keys else None

    def _reused(self, action: Action) -> bool:
        """Its id was already used for another action: one that was accepted,
        or any other by the same actor. (Another party's refused attempt does
        not take the id from the party whose action it is.)"""
        state, key = self._state, action_key(action)
        for other in self._keys_with(action.action_id):
            if other in (key, legacy_key(action.action_id)):
                continue
            if state.answers[other].accepted or id_and_actor(other)[1] == action.actor:
                return True
        return any(
            waiting.action_id == action.action_id and waiting != action
            for waiting in state.awaiting_the_story()
        )

    def _keys_with(self, action_id: str) -> list[str]:
        """The remembered keys of ``action_id``. Answers are only ever added
        within a run, so the index only catches up with the newest."""
        answers = self._state.answers
        if self._indexed is not answers or self._indexed_count > len(answers):
            self._keys_by_id, self._indexed, self._indexed_count = defaultdict(list), answers, 0
        for key in islice(answers, self._indexed_count, None):
            self._keys_by_id[id_and_actor(key)[0]].append(key)
        self._indexed_count = len(answers)
        return self._keys_by_id.get(action_id, [])

    def _accept(self, action: Action, principal: str | None = None) -> None:
        self.on_accepted()
        state, spec = self._state, ACTIONS[action.kind]
        state.settled = False
        state.decisions[spec.decision] = action
        if spec.answered_by_story:
            if principal is not None:
                state.principals[action_key(action)] = principal
            return
        # Accepted: the answer carries no reason; the timeline keeps the actor's.
        state.answers[action_key(action)] = Answer(accepted=True)
        reason = getattr(action, "reason", None)
        log(state, action.actor, action.kind, True, reason, action.action_id, principal, action)
