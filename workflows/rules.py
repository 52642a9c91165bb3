"""The rules of the process, as plain deterministic Python.

Which actor may take which action in which state, and what comes next. The
workflow consults these; tests call them directly, no server needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from workflows.actions import ACTIONS, Roles
from workflows.model import (
    Action,
    ActionKind,
    CutoverPlan,
    Deadlines,
    Effective,
    FailedCheck,
    OnDeadline,
    PartnerKind,
    Requester,
    ResellerReviewAction,
    ReviewAction,
    UnbindStatus,
)

S = UnbindStatus

# SPEC section 3: every legal move. Anything not listed here is a bug.
TRANSITIONS: dict[UnbindStatus, frozenset[UnbindStatus]] = {
    S.VALIDATING: frozenset(
        {
            S.PRECHECK_FAILED,
            S.PENDING_RESELLER_REVIEW,
            S.PENDING_DISTRIBUTOR_REVIEW,
            S.PENDING_CUSTOMER_CONFIRMATION,
            S.WITHDRAWN,
            S.CANCELLED,
        }
    ),
    # The customer's own request: the reseller approves (or its deadline does,
    # or hands the review to the distributor); the customer already agreed.
    S.PENDING_RESELLER_REVIEW: frozenset(
        {
            S.PENDING_DISTRIBUTOR_REVIEW,
            S.PENDING_CARD_BINDING,
            S.AWAITING_EFFECTIVE_DATE,
            S.FINAL_CHECK,
            S.RESELLER_REJECTED,
            S.EXPIRED,
            S.WITHDRAWN,
            S.CANCELLED,
        }
    ),
    S.PENDING_DISTRIBUTOR_REVIEW: frozenset(
        {
            S.PENDING_CUSTOMER_CONFIRMATION,
            # After a reseller's review handed over (a customer's request).
            S.PENDING_CARD_BINDING,
            S.AWAITING_EFFECTIVE_DATE,
            S.FINAL_CHECK,
            S.DISTRIBUTOR_REJECTED,
            S.EXPIRED,
            S.WITHDRAWN,
            S.CANCELLED,
        }
    ),
    S.PENDING_CUSTOMER_CONFIRMATION: frozenset(
        {
            S.PENDING_CARD_BINDING,
            S.AWAITING_EFFECTIVE_DATE,
            S.FINAL_CHECK,
            S.CUSTOMER_REJECTED,
            S.EXPIRED,
            S.WITHDRAWN,
            S.CANCELLED,
        }
    ),
    S.PENDING_CARD_BINDING: frozenset(
        {S.AWAITING_EFFECTIVE_DATE, S.FINAL_CHECK, S.EXPIRED, S.WITHDRAWN, S.CANCELLED}
    ),
    # Agreed, waiting for the end of the billing month; a withdrawal or a cancel
    # still ends it as before the confirmation.
    S.AWAITING_EFFECTIVE_DATE: frozenset({S.FINAL_CHECK, S.WITHDRAWN, S.CANCELLED}),
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


def first_wait(
    partner_kind: PartnerKind, requested_by: Requester = Requester.RESELLER
) -> UnbindStatus:
    """A customer's own request goes to its reseller; second-level resellers'
    applications go to their distributor first."""
    if requested_by is Requester.CUSTOMER:
        return S.PENDING_RESELLER_REVIEW
    if partner_kind is PartnerKind.SECOND_LEVEL_RESELLER:
        return S.PENDING_DISTRIBUTOR_REVIEW
    return S.PENDING_CUSTOMER_CONFIRMATION


def after_review(review: ReviewAction) -> UnbindStatus:
    return S.PENDING_CUSTOMER_CONFIRMATION if review.approve else S.DISTRIBUTOR_REJECTED


def after_reseller_review(review: ResellerReviewAction) -> UnbindStatus:
    """Approved: on to the card (the customer asked, so it need not confirm)."""
    return S.PENDING_CARD_BINDING if review.approve else S.RESELLER_REJECTED


DEADLINE_OF: dict[UnbindStatus, str] = {
    S.PENDING_RESELLER_REVIEW: "reseller_review",
    S.PENDING_DISTRIBUTOR_REVIEW: "distributor_review",
    S.PENDING_CUSTOMER_CONFIRMATION: "customer_confirmation",
    S.PENDING_CARD_BINDING: "card_binding",
    S.AWAITING_REMEDIATION: "remediation",
}
"""Each human wait's name in ``Deadlines`` (its length and what its deadline does)."""


def on_deadline(
    status: UnbindStatus, deadlines: Deadlines, distributor_uin: str | None
) -> OnDeadline:
    """What the deadline of ``status``'s wait does for this application: its
    choice, except that a hand-over with no distributor to take it expires."""
    chosen: OnDeadline = getattr(deadlines.on_deadline, DEADLINE_OF[status])
    if chosen is OnDeadline.DISTRIBUTOR and distributor_uin is None:
        return OnDeadline.EXPIRE
    return chosen


DELAYED_BILLS = (
    "The billing of cloud products may be delayed: bills for usage before the "
    "billing boundary that arrive after it are still charged to the reseller."
)
"""The help page's rule on delayed bills, as every plan states it."""


def end_of_billing_month(now: datetime) -> datetime:
    """The first instant of the next calendar month (UTC): the billing boundary
    of a cutover at the end of the current billing month."""
    now = now.astimezone(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def cutover_plan(effective: Effective, *, now: datetime, discounts: Iterable[str]) -> CutoverPlan:
    """What the parties are shown before they decide: the date (the end of the
    billing month current ``now``, or at once), the discounts that end and the
    rule on delayed bills."""
    return CutoverPlan(
        effective=effective,
        effective_on=end_of_billing_month(now) if effective is Effective.END_OF_MONTH else None,
        discounts_ending=tuple(discounts),
        delayed_bills=DELAYED_BILLS,
    )


def after_confirmation(card_bound: bool) -> UnbindStatus:
    """A customer with a card already bound need not bind one again."""
    return S.FINAL_CHECK if card_bound else S.PENDING_CARD_BINDING


def waits_for_the_date(plan: CutoverPlan | None, now: datetime) -> bool:
    """Agreed and carded: wait for the effective date when it is still ahead."""
    return plan is not None and plan.effective_on is not None and now < plan.effective_on


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
