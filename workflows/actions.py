"""Every action a party can take, described once.

One row per action: its message, the states it is accepted in, who may take
it, the description the Web UI lists beside its signal and update, which of
the workflow's decisions it fills, and its CLI command. The rules
(``workflows.rules``), the workflow's handlers, the client's methods and the
CLI's commands derive from this table; adding an action is one row here and
one model in ``workflows.model``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from workflows.fields import is_operator
from workflows.model import (
    Action,
    ActionKind,
    CardBoundAction,
    ConfirmAction,
    RecheckAction,
    RejectAction,
    ResellerReviewAction,
    ReviewAction,
    UnbindStatus,
    WithdrawAction,
)

S = UnbindStatus


@dataclass(frozen=True)
class Roles:
    """The parties of one application, as far as they are known."""

    customer_uin: str
    initiator_uin: str
    distributor_uin: str | None = None
    reseller_uin: str | None = None
    """Known once the preconditions passed: the partner the customer is bound to."""


class Decision(StrEnum):
    """The decisions the story waits for; an accepted action fills one, and
    one wait takes one decision (the first accepted wins)."""

    RESELLER_REVIEW = "reseller_review"
    REVIEW = "review"
    CUSTOMER_DECISION = "customer_decision"
    CARD_CLAIM = "card_claim"
    RECHECK = "recheck"
    WITHDRAWAL = "withdrawal"


@dataclass(frozen=True)
class ActionSpec:
    kind: ActionKind
    model: type[Action]
    accepted_in: frozenset[UnbindStatus]
    actor_rule: str
    """Who may act, in words: the refusal names it."""
    may_act: Callable[[str, Roles], bool]
    description: str
    """Shown by the Web UI beside the signal and the update."""
    help: str
    """The command's help, worded for people at a terminal."""
    decision: Decision
    command: str
    """The ``unbind`` CLI command."""
    answered_by_story: bool = False
    """Accepting it is not the answer: the story answers once it has checked
    the claim (``card_bound``: after the partner center shows the card)."""


_BEFORE_CUTOVER = frozenset(
    {
        S.VALIDATING,
        S.PENDING_RESELLER_REVIEW,
        S.PENDING_DISTRIBUTOR_REVIEW,
        S.PENDING_CUSTOMER_CONFIRMATION,
        S.PENDING_CARD_BINDING,
        S.AWAITING_EFFECTIVE_DATE,
        S.FINAL_CHECK,
        S.AWAITING_REMEDIATION,
    }
)


def _distributor(actor: str, roles: Roles) -> bool:
    return roles.distributor_uin is not None and actor == roles.distributor_uin


def _reseller(actor: str, roles: Roles) -> bool:
    return roles.reseller_uin is not None and actor == roles.reseller_uin


def _customer(actor: str, roles: Roles) -> bool:
    return actor == roles.customer_uin


def _initiator(actor: str, roles: Roles) -> bool:
    return actor == roles.initiator_uin


def _initiator_or_operator(actor: str, roles: Roles) -> bool:
    return actor == roles.initiator_uin or is_operator(actor)


# Operators send a recheck from the Web UI, which shows this next to its name.
RECHECK_DESCRIPTION = (
    'Re-run the final check after a fix. Data: {"actor": "operator:<name>", '
    '"action_id": "<a new id>"}'
)

ACTIONS: dict[ActionKind, ActionSpec] = {
    spec.kind: spec
    for spec in (
        ActionSpec(
            kind=ActionKind.RESELLER_REVIEW,
            model=ResellerReviewAction,
            accepted_in=frozenset({S.PENDING_RESELLER_REVIEW}),
            actor_rule="only the customer's reseller may review the customer's request",
            may_act=_reseller,
            description="Reseller approves or rejects the customer's request.",
            help="The reseller approves or rejects its customer's request to leave.",
            decision=Decision.RESELLER_REVIEW,
            command="reseller-review",
        ),
        ActionSpec(
            kind=ActionKind.REVIEW,
            model=ReviewAction,
            accepted_in=frozenset({S.PENDING_DISTRIBUTOR_REVIEW}),
            actor_rule="only the customer's distributor may review",
            may_act=_distributor,
            description="Distributor approves or rejects.",
            help="The distributor approves or rejects (second-level resellers' customers).",
            decision=Decision.REVIEW,
            command="review",
        ),
        ActionSpec(
            kind=ActionKind.CONFIRM,
            model=ConfirmAction,
            accepted_in=frozenset({S.PENDING_CUSTOMER_CONFIRMATION}),
            actor_rule="only the customer may confirm",
            may_act=_customer,
            description="Customer confirms the unbinding.",
            help="The customer agrees to be unbound.",
            decision=Decision.CUSTOMER_DECISION,
            command="confirm",
        ),
        ActionSpec(
            kind=ActionKind.REJECT,
            model=RejectAction,
            accepted_in=frozenset({S.PENDING_CUSTOMER_CONFIRMATION}),
            actor_rule="only the customer may reject",
            may_act=_customer,
            description="Customer rejects the unbinding.",
            help="The customer refuses to be unbound.",
            decision=Decision.CUSTOMER_DECISION,
            command="reject",
        ),
        ActionSpec(
            kind=ActionKind.CARD_BOUND,
            model=CardBoundAction,
            accepted_in=frozenset({S.PENDING_CARD_BINDING}),
            actor_rule="only the customer may report a bound card",
            may_act=_customer,
            description="Customer says a card is bound.",
            help="The customer has bound a card (verified against the partner center).",
            decision=Decision.CARD_CLAIM,
            command="card-bound",
            answered_by_story=True,
        ),
        ActionSpec(
            kind=ActionKind.WITHDRAW,
            model=WithdrawAction,
            accepted_in=_BEFORE_CUTOVER,
            actor_rule="only the initiator may withdraw",
            may_act=_initiator,
            description="Initiator withdraws before cutover.",
            help="The initiator withdraws the application (any time before cutover).",
            decision=Decision.WITHDRAWAL,
            command="withdraw",
        ),
        ActionSpec(
            kind=ActionKind.RECHECK,
            model=RecheckAction,
            accepted_in=frozenset({S.AWAITING_REMEDIATION}),
            actor_rule="only the initiator or an operator may request a recheck",
            may_act=_initiator_or_operator,
            description=RECHECK_DESCRIPTION,
            help="Run the final check again after a fix (initiator or operator).",
            decision=Decision.RECHECK,
            command="recheck",
        ),
    )
}

ACTION_TYPES: dict[ActionKind, type[Action]] = {kind: spec.model for kind, spec in ACTIONS.items()}
