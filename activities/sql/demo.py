"""The demo ledger (``unbind ledger seed-demo``, ``make demo``): a distributor,
a reseller, a second-level reseller, a sub-user, and a customer for each
condition the checks know."""

from __future__ import annotations

from typing import Any, NamedTuple

from activities.sql.database import SqlDatabase, account_row
from activities.sql.ledger import add_customer_in, add_partner_in, add_subuser_in, set_account_in
from workflows.model import GroupRole, OverduePrivilege, PartnerKind

DEMO_DISTRIBUTOR = "10000000001"
DEMO_RESELLER = "10000000002"
DEMO_SECOND_LEVEL_RESELLER = "10000000003"
DEMO_SUBUSER = "10000000004"


class _DemoCustomer(NamedTuple):
    uin: str
    partner_uin: str
    condition: str
    """What the demo shows with this customer."""
    fields: dict[str, Any]


_HEALTHY: dict[str, Any] = {"credit_cents": 100_000}
_DEMO_CUSTOMERS = (
    _DemoCustomer(
        "20000000001", DEMO_RESELLER, "ready, card bound", {**_HEALTHY, "card_bound": True}
    ),
    _DemoCustomer("20000000002", DEMO_RESELLER, "ready, no card", _HEALTHY),
    _DemoCustomer("20000000003", DEMO_RESELLER, "frozen", {**_HEALTHY, "frozen": True}),
    _DemoCustomer(
        "20000000004", DEMO_RESELLER, "group member", {**_HEALTHY, "group_role": GroupRole.MEMBER}
    ),
    _DemoCustomer(
        "20000000005",
        DEMO_RESELLER,
        "negative credit, postpaid privilege",
        {"credit_cents": -1_250, "overdue_privilege": OverduePrivilege.POSTPAID},
    ),
    _DemoCustomer(
        "20000000006",
        DEMO_RESELLER,
        "in a savings plan unit",
        {**_HEALTHY, "savings_unit": "sp-demo"},
    ),
    _DemoCustomer(
        "20000000011",
        DEMO_SECOND_LEVEL_RESELLER,
        "ready, card bound",
        {**_HEALTHY, "card_bound": True},
    ),
    _DemoCustomer("20000000012", DEMO_SECOND_LEVEL_RESELLER, "ready, no card", _HEALTHY),
    _DemoCustomer(
        "20000000013",
        DEMO_SECOND_LEVEL_RESELLER,
        "prepaid privilege",
        {**_HEALTHY, "overdue_privilege": OverduePrivilege.PREPAID},
    ),
)


class DemoLedger(SqlDatabase):
    """Seeds the demo ledger."""

    def seed_demo(self) -> dict[str, Any]:
        """Create the demo ledger, in one transaction. Accounts that already
        exist are left as they are, so re-seeding never undoes a demo run."""
        created: list[str] = []
        with self._write() as conn:

            def missing(uin: str) -> bool:
                if account_row(conn, uin) is None:
                    created.append(uin)
                    return True
                return False

            if missing(DEMO_DISTRIBUTOR):
                add_partner_in(
                    conn, DEMO_DISTRIBUTOR, kind=PartnerKind.DISTRIBUTOR, name="Demo distributor"
                )
            if missing(DEMO_RESELLER):
                add_partner_in(conn, DEMO_RESELLER, kind=PartnerKind.RESELLER, name="Demo reseller")
            if missing(DEMO_SECOND_LEVEL_RESELLER):
                add_partner_in(
                    conn,
                    DEMO_SECOND_LEVEL_RESELLER,
                    kind=PartnerKind.SECOND_LEVEL_RESELLER,
                    distributor_uin=DEMO_DISTRIBUTOR,
                    name="Demo second-level reseller",
                )
            if missing(DEMO_SUBUSER):
                add_subuser_in(conn, DEMO_SUBUSER, owner_uin=DEMO_RESELLER)
            for customer in _DEMO_CUSTOMERS:
                if missing(customer.uin):
                    add_customer_in(
                        conn,
                        customer.uin,
                        partner_uin=customer.partner_uin,
                        name=f"Demo customer ({customer.condition})",
                        card=False,
                    )
                    set_account_in(conn, customer.uin, customer.fields)
        return {
            "distributor": DEMO_DISTRIBUTOR,
            "reseller": DEMO_RESELLER,
            "second_level_reseller": DEMO_SECOND_LEVEL_RESELLER,
            "reseller_subuser": DEMO_SUBUSER,
            "customers": [
                {"uin": c.uin, "partner_uin": c.partner_uin, "condition": c.condition}
                for c in _DEMO_CUSTOMERS
            ],
            "created": created,
        }
