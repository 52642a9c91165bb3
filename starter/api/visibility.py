"""Who sees what, and what waits for whom: pure rules over a principal and
an application's parties.

- An application is seen by its parties (the customer, the initiator and the
  reseller with their sub-users, the distributor) and by operators; for
  anyone else it does not exist (404, as for a missing one).
- The list view shows a reseller its own (``ResellerUin`` = the caller or its
  owner), a distributor those of its second-level resellers
  (``DistributorUin``), a customer its own (``CustomerUin``), an operator all.
"""

from __future__ import annotations

from collections.abc import Iterable

from starter.api.auth import Principal
from workflows.actions import ACTIONS, Roles
from workflows.model import ActionKind, UnbindingState, UnbindStatus
from workflows.search_attributes import (
    CUSTOMER_UIN,
    DISTRIBUTOR_UIN,
    RESELLER_UIN,
    UNBIND_STATUS,
)

WAITED_FOR = [kind for kind in ACTIONS if kind is not ActionKind.WITHDRAW]
"""Actions the story waits for; a withdrawal is always possible, never awaited."""
WAITING_STATUSES = sorted(
    {status for kind in WAITED_FOR for status in ACTIONS[kind].accepted_in},
    key=list(UnbindStatus).index,
)


def may_see(principal: Principal, state: UnbindingState) -> bool:
    return is_party(
        principal,
        customer_uin=state.customer_uin,
        initiator_uin=state.initiator_uin,
        reseller_uin=state.reseller_uin,
        distributor_uin=state.distributor_uin,
    )


def is_party(
    principal: Principal,
    *,
    customer_uin: str,
    initiator_uin: str,
    reseller_uin: str | None,
    distributor_uin: str | None,
) -> bool:
    """An operator, a party, or a sub-user of the partner side."""
    if principal.is_operator:
        return True
    partner_side = {initiator_uin, reseller_uin}
    if principal.sub in partner_side | {customer_uin, distributor_uin}:
        return True
    return principal.owner is not None and principal.owner in partner_side


def roles_of(state: UnbindingState) -> Roles:
    return Roles(
        customer_uin=state.customer_uin,
        initiator_uin=state.initiator_uin,
        distributor_uin=state.distributor_uin,
        reseller_uin=state.reseller_uin,
    )


def list_clause(principal: Principal) -> str | None:
    """The visibility-query clause that limits a list to what the caller may
    see; None for an operator. The values are UINs checked by the token layer."""
    if principal.is_operator:
        return None
    resellers = sorted({principal.sub, principal.root})
    clauses = [f"{RESELLER_UIN.name} = '{uin}'" for uin in resellers]
    clauses.append(f"{DISTRIBUTOR_UIN.name} = '{principal.sub}'")
    clauses.append(f"{CUSTOMER_UIN.name} = '{principal.sub}'")
    return "(" + " OR ".join(clauses) + ")"


def status_clause(statuses: Iterable[UnbindStatus]) -> str:
    values = ", ".join(f"'{status.value}'" for status in statuses)
    return f"{UNBIND_STATUS.name} IN ({values})"


def awaited_actions(principal: Principal, status: UnbindStatus, roles: Roles) -> list[ActionKind]:
    """What the application waits for from this caller now."""
    return [
        kind
        for kind in WAITED_FOR
        if status in ACTIONS[kind].accepted_in and ACTIONS[kind].may_act(principal.actor, roles)
    ]
