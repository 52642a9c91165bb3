"""The process as SPEC sections 3 and 4 state it, written independently of
``workflows.rules``: the oracle the rule tests, the property tests and the
action storms check the rules and the workflow against.

Each kind of party is a role with a fixed account number; for the rules,
the customer, the initiator and the distributor are the ones in ``ACTORS``.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Literal, get_args

from workflows.model import ActionKind, UnbindStatus

S = UnbindStatus
K = ActionKind

Role = Literal[
    "customer",
    "initiator",
    "distributor",
    "other_reseller",
    "other_distributor",
    "sub_user_of_initiator",
    "sub_user_of_customer",
    "operator",
]
ROLES: tuple[Role, ...] = get_args(Role)
ACTORS: dict[Role, str] = {
    "customer": "20000000001",
    "initiator": "10000000003",
    "distributor": "10000000001",
    "other_reseller": "10000000099",
    "other_distributor": "10000000098",
    "sub_user_of_initiator": "10000000004",
    "sub_user_of_customer": "20000000002",
    "operator": "operator:alice",
}
# SPEC section 4: who may take each action, and in which states.
ALLOWED_ROLES: dict[ActionKind, frozenset[Role]] = {
    # Issue 13, item 4: only the customer's reseller reviews the customer's own
    # request; among these roles that is the initiator's account (the reseller
    # initiates the help page's flow). The customer's flow is checked with its
    # own parties in tests/workflows/test_customer_request.py.
    K.RESELLER_REVIEW: frozenset({"initiator"}),
    K.REVIEW: frozenset({"distributor"}),
    K.CONFIRM: frozenset({"customer"}),
    K.REJECT: frozenset({"customer"}),
    K.CARD_BOUND: frozenset({"customer"}),
    K.WITHDRAW: frozenset({"initiator"}),
    K.RECHECK: frozenset({"initiator", "operator"}),
}
_BEFORE_CUTOVER = frozenset(
    {
        S.VALIDATING,
        S.PENDING_RESELLER_REVIEW,
        S.PENDING_DISTRIBUTOR_REVIEW,
        S.PENDING_CUSTOMER_CONFIRMATION,
        S.PENDING_CARD_BINDING,
        # Issue 13, item 5: withdraw stays possible until the cutover begins.
        S.AWAITING_EFFECTIVE_DATE,
        S.FINAL_CHECK,
        S.AWAITING_REMEDIATION,
    }
)
SPEC_ACCEPTED_IN: dict[ActionKind, frozenset[UnbindStatus]] = {
    K.RESELLER_REVIEW: frozenset({S.PENDING_RESELLER_REVIEW}),
    K.REVIEW: frozenset({S.PENDING_DISTRIBUTOR_REVIEW}),
    K.CONFIRM: frozenset({S.PENDING_CUSTOMER_CONFIRMATION}),
    K.REJECT: frozenset({S.PENDING_CUSTOMER_CONFIRMATION}),
    K.CARD_BOUND: frozenset({S.PENDING_CARD_BINDING}),
    K.WITHDRAW: _BEFORE_CUTOVER,
    K.RECHECK: frozenset({S.AWAITING_REMEDIATION}),
}
# SPEC section 3's "leaves to" column; withdraw and cancel end any state
# before the cutover (sections 3 and 4).
_ENDED_EARLY = frozenset({S.WITHDRAWN, S.CANCELLED})
SPEC_NEXT: dict[UnbindStatus, frozenset[UnbindStatus]] = {
    S.VALIDATING: frozenset(
        {
            S.PRECHECK_FAILED,
            S.PENDING_RESELLER_REVIEW,
            S.PENDING_DISTRIBUTOR_REVIEW,
            S.PENDING_CUSTOMER_CONFIRMATION,
        }
    )
    | _ENDED_EARLY,
    # Issue 13, item 4: the customer's request skips the customer's confirmation;
    # the reseller's deadline may approve it or hand it to the distributor.
    S.PENDING_RESELLER_REVIEW: frozenset(
        {
            S.PENDING_DISTRIBUTOR_REVIEW,
            S.PENDING_CARD_BINDING,
            S.AWAITING_EFFECTIVE_DATE,
            S.FINAL_CHECK,
            S.RESELLER_REJECTED,
            S.EXPIRED,
        }
    )
    | _ENDED_EARLY,
    S.PENDING_DISTRIBUTOR_REVIEW: frozenset(
        {
            S.PENDING_CUSTOMER_CONFIRMATION,
            S.PENDING_CARD_BINDING,
            S.AWAITING_EFFECTIVE_DATE,
            S.FINAL_CHECK,
            S.DISTRIBUTOR_REJECTED,
            S.EXPIRED,
        }
    )
    | _ENDED_EARLY,
    S.PENDING_CUSTOMER_CONFIRMATION: frozenset(
        {
            S.PENDING_CARD_BINDING,
            S.AWAITING_EFFECTIVE_DATE,
            S.FINAL_CHECK,
            S.CUSTOMER_REJECTED,
            S.EXPIRED,
        }
    )
    | _ENDED_EARLY,
    S.PENDING_CARD_BINDING: frozenset({S.AWAITING_EFFECTIVE_DATE, S.FINAL_CHECK, S.EXPIRED})
    | _ENDED_EARLY,
    # Issue 13, item 5: the date comes (the final check then), or it ends early.
    S.AWAITING_EFFECTIVE_DATE: frozenset({S.FINAL_CHECK}) | _ENDED_EARLY,
    S.FINAL_CHECK: frozenset({S.CUTTING_OVER, S.AWAITING_REMEDIATION}) | _ENDED_EARLY,
    S.AWAITING_REMEDIATION: frozenset({S.FINAL_CHECK, S.EXPIRED}) | _ENDED_EARLY,
    S.CUTTING_OVER: frozenset({S.COMPLETED, S.FAILED}),
}
# SPEC section 3's preconditions, by name: all of them at submission; the
# account's own again at the final check, plus a bound card (issue 9: a card
# bound at submission or verified at card binding may be gone by then, and at
# submission a missing card only means the card-binding step later).
SUBMISSION_CHECKS: tuple[str, ...] = (
    "relationship",
    "root_account",
    "account_frozen",
    "credit",
    "overdue_privilege",
    "group_membership",
    "savings_plan_unit",
    "open_application",
    # Issue 13: the notice's promises, checked; and the quotas.
    "overdue_bills",
    "active_discounts",
    "customer_quota",
    "pair_quota",
)
ACCOUNT_CHECKS: tuple[str, ...] = (*SUBMISSION_CHECKS[2:7], "overdue_bills", "active_discounts")
FINAL_CHECKS: tuple[str, ...] = (*ACCOUNT_CHECKS, "card", "account_information")
SPEC_TERMINAL = frozenset(
    {
        S.PRECHECK_FAILED,
        S.RESELLER_REJECTED,
        S.DISTRIBUTOR_REJECTED,
        S.CUSTOMER_REJECTED,
        S.EXPIRED,
        S.WITHDRAWN,
        S.CANCELLED,
        S.COMPLETED,
        S.FAILED,
    }
)
# The help page's flow's waits (the reseller's application, at once), which the
# authorization and API tests walk; the customer's request and the effective
# date have tests of their own.
HUMAN_WAITS = frozenset(
    {
        S.PENDING_DISTRIBUTOR_REVIEW,
        S.PENDING_CUSTOMER_CONFIRMATION,
        S.PENDING_CARD_BINDING,
        S.AWAITING_REMEDIATION,
    }
)


def is_legal_path(statuses: list[UnbindStatus]) -> bool:
    """A legal walk of the spec's graph from ``VALIDATING``."""
    path = [S.VALIDATING, *statuses]
    return all(after in SPEC_NEXT.get(before, ()) for before, after in pairwise(path))


def spec_allows(role: Role, kind: ActionKind, status: UnbindStatus, *, second_level: bool) -> bool:
    if kind is K.REVIEW and not second_level:
        return False  # a direct reseller's customer has no distributor to review
    return role in ALLOWED_ROLES[kind] and status in SPEC_ACCEPTED_IN[kind]
