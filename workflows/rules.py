"""The rules of the process, as plain deterministic Python.

Which actor may take which action in which state, and what comes next. The
workflow consults these; tests call them directly, no server needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from workflows.actions import ACTIONS, Roles
from workflows.model import Action, ActionKind, FailedCheck, PartnerKind, ReviewAction, UnbindStatus

S = UnbindStatus

# SPEC section 3: every legal move. Anything not listed here is a bug.
TRANSITIONS: dict[UnbindStatus, frozenset[UnbindStatus]] = {
    S.VALIDATING: frozenset(
        {
            S.PRECHECK_FAILED,
            S.PENDING_DISTRIBUTOR_REVIEW,
            S.PENDING_CUSTOMER_CONFIRMATION,
            S.WITHDRAWN,
            S.CANCELLED,
        }
    ),
    S.PENDING_DISTRIBUTOR_REVIEW: frozenset(
        {
            S.PENDING_CUSTOMER_CONFIRMATION,
            S.DISTRIBUTOR_REJECTED,
            S.EXPIRED,
            S.WITHDRAWN,
            S.CANCELLED,
        }
    ),
    S.PENDING_CUSTOMER_CONFIRMATION: frozenset(
        {
            S.PENDING_CARD_BINDING,
            S.FINAL_CHECK,
            S.CUSTOMER_REJECTED,
            S.EXPIRED,
            S.WITHDRAWN,
            S.CANCELLED,
        }
    ),
    S.PENDING_CARD_BINDING: frozenset({S.FINAL_CHECK, S.EXPIRED, S.WITHDRAWN, S.CANCELLED}),
    S.FINAL_CHECK: frozenset({S.CUTTING_OVER, S.AWAITING_REMEDIATION, S.WITHDRAWN, S.CANCELLED}),
    S.AWAITING_REMEDIATION: frozenset({S.FINAL_CHECK, S.EXPIRED, S.WITHDRAWN, S.CANCELLED}),
    S.CUTTING_OVER: frozenset({S.COMPLETED, S.FAILED}),
}

# SPEC section 4: the states in which each action is accepted, and who may
# take it, derived from the one table of actions.
ACCEPTED_IN: dict[ActionKind, frozenset[UnbindStatus]] = {
    kind: spec.accepted_in for kind, spec in ACTIONS.items()
}
ACTOR_RULE: dict[ActionKind, str] = {kind: spec.actor_rule for kind, spec in ACTIONS.items()}

# The states in which an operator's cancel ends the application.
CANCELLABLE = ACCEPTED_IN[ActionKind.WITHDRAW]


def may_act(kind: ActionKind, actor: str, roles: Roles) -> bool:
    return ACTIONS[kind].may_act(actor, roles)


def refusal(status: UnbindStatus, action: Action, roles: Roles) -> str | None:
    """Why ``action`` may not be taken now, or None when it may."""
    if not may_act(action.kind, action.actor, roles):
        return f"{action.actor} may not {action.kind}: {ACTOR_RULE[action.kind]}"
    if status.is_terminal:
        return f"the application has already ended as {status}"
    if status not in ACCEPTED_IN[action.kind]:
        return f"{action.kind} is not accepted while the application is {status}"
    return None


def is_legal(before: UnbindStatus, after: UnbindStatus) -> bool:
    return after in TRANSITIONS.get(before, frozenset())


def first_wait(partner_kind: PartnerKind) -> UnbindStatus:
    """Second-level resellers' customers go to their distributor first."""
    if partner_kind is PartnerKind.SECOND_LEVEL_RESELLER:
        return S.PENDING_DISTRIBUTOR_REVIEW
    return S.PENDING_CUSTOMER_CONFIRMATION


def after_review(review: ReviewAction) -> UnbindStatus:
    return S.PENDING_CUSTOMER_CONFIRMATION if review.approve else S.DISTRIBUTOR_REJECTED


def after_confirmation(card_bound: bool) -> UnbindStatus:
    """A customer with a card already bound need not bind one again."""
    return S.FINAL_CHECK if card_bound else S.PENDING_CARD_BINDING


def after_final_check(failed_checks: Iterable[FailedCheck]) -> UnbindStatus:
    return S.AWAITING_REMEDIATION if list(failed_checks) else S.CUTTING_OVER


def reminder_times(
    *, deadline: datetime, reminders_before: Iterable[timedelta], now: datetime
) -> list[datetime]:
    """When to remind, earliest first; reminders already past are dropped."""
    times = {deadline - offset for offset in reminders_before}
    return sorted(t for t in times if now < t < deadline)


def humanize(duration: timedelta) -> str:
    """A short, stable label for a duration: ``3d``, ``12h``, ``90s``."""
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
