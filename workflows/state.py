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
from workflows.model import Action, ActionKind, FailedCheck, UnbindingState, UnbindStatus


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
    """The answer once given to an action id, so a repeat gets the same one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accepted: bool
    reason: str | None = None


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
    """Answers by action id, oldest first, so a repeated action has no second
    effect (bounded across continue-as-new, see ``workflows.handover``)."""
    reminded: list[str] = []
    """Reminder events already sent (``workflows.waits.reminder_event``)."""
    notified_checks: list[FailedCheck] | None = None
    """The failed checks the initiator was last told about."""
    final_checks: int = 0
    """Final checks run so far, in every run: numbers each failed check's
    message, since the transitions are trimmed when handed over."""
    next_auto_recheck_at: datetime | None = None
    """The scheduled recheck a continued run keeps."""
    # Per run, so not handed over: ``workflows.handover.take_over`` sets them.
    resume_in: UnbindStatus | None = Field(default=None, exclude=True)
    """Set in a continued run until it is back in the wait the previous run left."""
    settled: bool = Field(default=False, exclude=True)
    """False while the story has work to do; updates answer once it is back to
    waiting for people (or ended), with the status that results."""

    @model_validator(mode="before")
    @classmethod
    def _from_carried_over(cls, data: Any) -> Any:
        """The older hand-over: ``state`` for ``public``, answers as a list."""
        if not isinstance(data, dict) or "state" not in data:
            return data
        data = {("public" if key == "state" else key): value for key, value in data.items()}
        answers = data.get("answers")
        if isinstance(answers, list):
            data["answers"] = {
                a["action_id"]: {"accepted": a["accepted"], "reason": a.get("reason")}
                for a in answers
            }
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
        return Roles(public.customer_uin, public.initiator_uin, public.distributor_uin)

    def decided(self, decision: Decision) -> bool:
        return decision in self.decisions

    def seen(self, action_id: str) -> bool:
        """Answered, or accepted and waiting for the story's answer."""
        return action_id in self.answers or any(
            action.action_id == action_id
            for action in self.decisions.values()
            if ACTIONS[action.kind].answered_by_story
        )
