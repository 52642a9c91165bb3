"""``unbind ledger …``: administer the partner center's accounts (demo and tests)."""

from __future__ import annotations

import click

from starter.cli.app import UnbindGroup, cli, json_option, switch_option
from starter.cli.database import partner_center
from starter.cli.output import account_text, emit
from starter.cli.types import AMOUNT, NAME, SAVINGS_UNIT, UIN, Count, choice
from starter.errors import BadInput
from workflows.model import GroupRole, OverduePrivilege, PartnerKind

MAX_COUNT = 1_000_000
"""Beyond any count of bills or discounts one customer has."""


@cli.group(cls=UnbindGroup)
def ledger() -> None:
    """Administer the partner center's accounts (demo and tests)."""


@ledger.command("seed-demo")
@json_option
def seed_demo(as_json: bool) -> None:
    """Create the demo partners and customers (existing accounts are kept)."""
    with partner_center() as pc:
        demo = pc.seed_demo()

    def text() -> str:
        lines = [
            f"distributor            {demo['distributor']}",
            f"reseller               {demo['reseller']} (sub-user {demo['reseller_subuser']})",
            f"second-level reseller  {demo['second_level_reseller']}",
            "customers:",
        ]
        lines += [
            f"  {c['uin']}  of {c['partner_uin']}  {c['condition']}" for c in demo["customers"]
        ]
        lines.append(f"created {len(demo['created'])} new accounts")
        return "\n".join(lines)

    emit(as_json, demo, text)


@ledger.command("add-partner")
@click.argument("uin", type=UIN)
@click.option("--kind", required=True, type=choice(PartnerKind), help="The partner's kind.")
@click.option("--distributor", type=UIN, help="A second-level reseller's distributor.")
@click.option("--name", type=NAME, help="A display name.")
@json_option
def add_partner(
    uin: str, kind: str, distributor: str | None, name: str | None, as_json: bool
) -> None:
    """Register a partner (creating its account)."""
    partner_kind = PartnerKind(kind)
    if partner_kind is PartnerKind.SECOND_LEVEL_RESELLER and distributor is None:
        raise BadInput("--distributor", "a second-level reseller needs its distributor")
    if partner_kind is not PartnerKind.SECOND_LEVEL_RESELLER and distributor is not None:
        raise BadInput("--distributor", f"only a second-level reseller has one, not a {kind}")
    with partner_center() as pc:
        pc.add_partner(uin, kind=partner_kind, distributor_uin=distributor, name=name)
        account = pc.show(uin)
    under = f" under distributor {distributor}" if distributor else ""
    emit(as_json, account, f"partner {uin} is a {partner_kind}{under}")


@ledger.command("add-customer")
@click.argument("uin", type=UIN)
@click.option("--partner", required=True, type=UIN, help="The reseller it is bound to.")
@click.option("--name", type=NAME, help="A display name.")
@click.option("--card", is_flag=True, help="A card is already bound.")
@json_option
def add_customer(uin: str, partner: str, name: str | None, card: bool, as_json: bool) -> None:
    """Bind a customer to a reseller with an active agreement."""
    with partner_center() as pc:
        pc.add_customer(uin, partner_uin=partner, name=name, card=card)
        account = pc.show(uin)
    emit(as_json, account, f"customer {uin} is bound to partner {partner}")


@ledger.command("add-subuser")
@click.argument("uin", type=UIN)
@click.option("--owner", required=True, type=UIN, help="The root account.")
@json_option
def add_subuser(uin: str, owner: str, as_json: bool) -> None:
    """Create a sub-user of a root account."""
    with partner_center() as pc:
        pc.add_subuser(uin, owner_uin=owner)
        account = pc.show(uin)
    emit(as_json, account, f"account {uin} is a sub-user of {owner}")


@ledger.command("add-discount")
@click.argument("uin", type=UIN)
@click.option("--name", "discount", required=True, type=NAME, help="The discount's name.")
@json_option
def add_discount(uin: str, discount: str, as_json: bool) -> None:
    """Give a customer an active discount (the cutover plan lists it as ending)."""
    with partner_center() as pc:
        pc.add_discount(uin, discount)
        account = pc.show(uin)
    emit(as_json, account, f"customer {uin} has discount {discount}")


@ledger.command("end-discount")
@click.argument("uin", type=UIN)
@click.option("--name", "discount", required=True, type=NAME, help="The discount's name.")
@json_option
def end_discount(uin: str, discount: str, as_json: bool) -> None:
    """Deactivate a customer's discount."""
    with partner_center() as pc:
        pc.end_discount(uin, discount)
        account = pc.show(uin)
    emit(as_json, account, f"customer {uin} no longer has discount {discount}")


@ledger.command("show")
@click.argument("uin", type=UIN)
@json_option
def show(uin: str, as_json: bool) -> None:
    """An account: its fields, its partner and its agreement."""
    with partner_center() as pc:
        account = pc.show(uin)
    emit(as_json, account, lambda: account_text(account))


@ledger.command("set")
@click.argument("uin", type=UIN)
@switch_option("--frozen", "--unfrozen", "frozen", "Freeze the account.")
@click.option("--credit", type=AMOUNT, help="Available credit, e.g. 100 or -12.50.")
@click.option("--privilege", type=choice(OverduePrivilege), help="Service during arrears.")
@click.option("--group", type=choice(GroupRole), help="Group role.")
@click.option("--savings-unit", type=SAVINGS_UNIT, help="Savings plan shared unit, or none.")
@switch_option("--card", "--no-card", "card", "A card is bound.")
@click.option(
    "--overdue-bills",
    type=Count(0, MAX_COUNT),
    help="Unsettled overdue bills with the reseller (0 when all are settled).",
)
@switch_option(
    "--info-complete",
    "--info-incomplete",
    "info_complete",
    "The customer's account information is complete.",
)
@json_option
def set_account(
    uin: str,
    frozen: bool | None,
    credit: int | None,
    privilege: str | None,
    group: str | None,
    savings_unit: str | None,
    card: bool | None,
    overdue_bills: int | None,
    info_complete: bool | None,
    as_json: bool,
) -> None:
    """Change an account's fields (those the checks look at)."""
    standing = (overdue_bills, info_complete)
    given = (frozen, credit, privilege, group, savings_unit, card, *standing)
    if all(value is None for value in given):
        raise BadInput(None, "nothing to change: pass at least one option")
    unit: dict[str, str | None] = {}
    if savings_unit is not None:
        unit["savings_unit"] = None if savings_unit.lower() == "none" else savings_unit
    with partner_center() as pc:
        pc.set_account(
            uin,
            frozen=frozen,
            credit_cents=credit,
            overdue_privilege=OverduePrivilege(privilege) if privilege else None,
            group_role=GroupRole(group) if group else None,
            card_bound=card,
            overdue_bills=overdue_bills,
            info_complete=info_complete,
            **unit,
        )
        account = pc.show(uin)
    emit(as_json, account, lambda: f"updated {uin}\n{account_text(account)}")
