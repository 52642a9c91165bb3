"""Everything one application's workflow knows, in one serializable structure.

The workflow keeps no other state: handlers and the story read and write this
model, and a continued run receives it whole (``workflows.handover``), so no
field can be forgotten on the way. Hand-overs recorded before this structure
existed (the older ``CarriedOver`` shape) decode into it too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    model_validator,
)

from workflows.actions import ACTIONS, Decision, Roles
from workflows.contract import action_fingerprint
from workflows.model import (
    Action,
    ActionKind,
    FailedCheck,
    Outbox,
    UnbindingState,
    UnbindStatus,
)


def _action_of(value: Any) -> Action:
    if isinstance(value, Action):
        return value
    data = dict(value)
    return ACTIONS[ActionKind(data.pop("kind"))].model.model_validate(data)


def _action_data(action: Action) -> dict[str, Any]:
    return {"kind": action.kind.value, **action.model_dump(mode="json")}


AnyAction = Annotated[Action, PlainValidator(_action_of), PlainSerializer(_action_data)]
"""An action of any kind, stored with its kind so it decodes as that kind."""


class Answer(BaseModel):
    """The answer once given to an action, so a repeat gets the same one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accepted: bool
    reason: str | None = None


ANY = "*"
"""In a key remembered before action ids were scoped: any kind, fields or actor."""


def action_key(action: Action) -> str:
    """What an answer is remembered by: the action id, then what was done
    (kind and a fingerprint of every field) and who did it. Actors come last:
    an operator's name is the only part that may contain any character."""
    return f"{action.action_id}/{action.kind.value}/{action_fingerprint(action)}/{action.actor}"


def id_and_actor(key: str) -> tuple[str, str]:
    """The action id and the actor of a key (the actor is ``ANY`` in a legacy key)."""
    action_id, _, _, actor = key.split("/", 3)
    return action_id, actor


def legacy_key(action_id: str) -> str:
    return f"{action_id}/{ANY}/{ANY}/{ANY}"


def _legacy_answers(answers: Any) -> Any:
    """Answers by bare action id (older hand-overs, list or dict) keyed by
    :func:`action_key`'s shape, matching any action with that id: a repeat
    gets the answer it got before ids were scoped."""
    if isinstance(answers, list):
        return {
            legacy_key(a["action_id"]): {"accepted": a["accepted"], "reason": a.get("reason")}
            for a in answers
        }
    if isinstance(answers, dict):
        return {(key if "/" in key else legacy_key(key)): a for key, a in answers.items()}
    return answers


class WorkflowState(BaseModel):
    """The workflow's whole state."""

    model_config = ConfigDict(extra="forbid")

    public: UnbindingState
    """What the ``status`` query answers and the run returns."""
    revision: int = 0
    """The last revision written to the unbinding record."""
    decisions: dict[Decision, AnyAction] = {}
    """Accepted decisions, one per slot (the first accepted wins); the story
    consumes them."""
    answers: dict[str, Answer] = {}
    """Answers by :func:`action_key`, oldest first, so a repeated action has no
    second effect (bounded across continue-as-new, see ``workflows.handover``)."""
    reminded: list[str] = []
    """Reminder events already sent (``workflows.waits.reminder_event``)."""
    notified_checks: list[FailedCheck] | None = None
    """The failed checks the initiator was last told about."""
    final_checks: int = 0
    """Final checks run so far, in every run: numbers each failed check's
    message, since the transitions are trimmed when handed over."""
    next_auto_recheck_at: datetime | None = None
    """The scheduled recheck a continued run keeps."""
    party_signals_refused: bool = False
    """The application runs under the signed-actions policy: a party's signal
    cannot carry a verifiable signature, so it is refused (``workflows.intake``,
    fixed once per run in history and kept by every continued run)."""
    review_handed_over: bool = False
    """A customer's request whose reseller let the deadline hand the review to
    the distributor."""
    principals: dict[str, str] = {}
    """The verified principal of an accepted action whose timeline entry the
    story writes later (a card claim), by :func:`action_key`."""
    # Per run, so not handed over: ``workflows.handover.take_over`` sets them.
    resume_in: UnbindStatus | None = Field(default=None, exclude=True)
    """Set in a continued run until it is back in the wait the previous run left."""
    outbox: Outbox = Field(default_factory=Outbox, exclude=True)
    """The record and messages of state changes not written yet
    (``workflows.publishing.flush``); always empty when a run hands over."""
    search_attributes_shown: tuple[object, ...] | None = Field(default=None, exclude=True)
    """The values this run last upserted (``workflows.publishing``)."""
    settled: bool = Field(default=False, exclude=True)
    """False while the story has work to do; updates answer once it is back to
    waiting for people (or ended), with the status that results."""

    @model_validator(mode="before")
    @classmethod
    def _from_older_hand_overs(cls, data: Any) -> Any:
        """The older hand-overs: ``state`` for ``public`` and answers as a list
        (``CarriedOver``); answers keyed by bare action id (before ids were
        scoped to the action)."""
        if not isinstance(data, dict):
            return data
        data = {("public" if key == "state" else key): value for key, value in data.items()}
        if "answers" in data:
            data["answers"] = _legacy_answers(data["answers"])
        return data

    @property
    def status(self) -> UnbindStatus:
        return self.public.status

    @property
    def validated(self) -> bool:
        """The preconditions passed: the parties are known and a record exists."""
        return self.public.partner_kind is not None

    @property
    def roles(self) -> Roles:
        public = self.public
        return Roles(
            public.customer_uin, public.initiator_uin, public.distributor_uin, public.reseller_uin
        )

    def decided(self, decision: Decision) -> bool:
        return decision in self.decisions

    def answered(self, action: Action) -> Answer | None:
        """The answer this very action got before (or, remembered from before
        ids were scoped, any action with its id)."""
        given = self.answers.get(action_key(action))
        return given if given is not None else self.answers.get(legacy_key(action.action_id))

    def pending(self, action: Action) -> bool:
        """Accepted, and waiting for the story's answer."""
        return any(action == waiting for waiting in self.awaiting_the_story())

    def awaiting_the_story(self) -> list[Action]:
        """Accepted actions the story has not answered yet (``card_bound``)."""
        return [
            action
            for action in self.decisions.values()
            if ACTIONS[action.kind].answered_by_story and action_key(action) not in self.answers
        ]
