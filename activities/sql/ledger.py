"""Ledger administration behind ``unbind ledger``: partners, customers and
sub-users, and the account fields the checks read. Each change is one
transaction; repeating one changes nothing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from sqlalchemy import Connection, select, update

from activities.partner_center import LedgerConflict, UnknownAccount
from activities.sql.database import (
    STANDING_DEFAULTS,
    SqlDatabase,
    SqlRow,
    account_row,
    current_agreement,
    discount_names,
    idempotent_insert,
    if_active,
    partner_row,
    require_account,
    standing_of,
)
from activities.sql.schema import (
    AgreementState,
    account_standing,
    accounts,
    active,
    agreements,
    discounts,
    now,
    partners,
)
from workflows.fields import UIN_PATTERN
from workflows.model import GroupRole, OverduePrivilege, PartnerKind


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = _Unchanged()
"""Marks an optional argument of :meth:`SqlPartnerCenter.set_account` whose
``None`` has a meaning of its own (``savings_unit=None`` clears the unit)."""


# Beyond any balance a ledger holds; keeps 10**shift small for inputs like 1e999999999.
_MAX_AMOUNT_DIGITS = 40


def cents_from_amount(amount: str | Decimal) -> int:
    """``"-12.5"`` -> ``-1250``; refuses fractions of a cent.

    Exact for any number of digits: Decimal arithmetic would round to the
    context's 28 digits and could turn ``99999999999999999999999999.995``
    into whole cents, so the digits are counted instead of multiplied."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount in cents: {amount!r}")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    coefficient = int("".join(map(str, digits)) or "0")
    if coefficient == 0:
        return 0
    if value.adjusted() > _MAX_AMOUNT_DIGITS:
        raise ValueError(f"not an amount in cents: {amount!r} has too many digits")
    shift = exponent + 2  # the exponent of the coefficient's last digit, in cents
    if shift >= 0:
        cents = coefficient * 10**shift
    elif -shift >= len(digits):  # all of it below a cent (and 10**-shift may be huge)
        raise ValueError(f"not an amount in cents: {amount!r}")
    else:
        cents, below_a_cent = divmod(coefficient, 10**-shift)
        if below_a_cent:
            raise ValueError(f"not an amount in cents: {amount!r}")
    return -cents if sign else cents


def amount_from_cents(cents: int) -> str:
    """``-1250`` -> ``"-12.50"``."""
    return str(Decimal(cents).scaleb(-2))


# ---- the administration -----------------------------------------------------


class LedgerAdministration(SqlDatabase):
    """Changes to the ledger made by people (``unbind ledger``), not by the process."""

    def add_partner(
        self,
        uin: str,
        *,
        kind: PartnerKind,
        distributor_uin: str | None = None,
        name: str | None = None,
    ) -> None:
        """Register a partner, creating its account if missing. Repeating it
        with the same kind and distributor changes nothing."""
        with self._write() as conn:
            add_partner_in(
                conn, uin, kind=PartnerKind(kind), distributor_uin=distributor_uin, name=name
            )

    def add_customer(
        self, uin: str, *, partner_uin: str, name: str | None = None, card: bool = False
    ) -> None:
        """Bind a customer to a partner with a new active agreement, creating
        the account if missing (``name`` and ``card`` apply to a new account
        only). A customer unbound earlier may be bound again."""
        with self._write() as conn:
            add_customer_in(conn, uin, partner_uin=partner_uin, name=name, card=card)

    def add_subuser(self, uin: str, *, owner_uin: str) -> None:
        """Create a sub-user of a root account."""
        with self._write() as conn:
            add_subuser_in(conn, uin, owner_uin=owner_uin)

    def set_account(
        self,
        uin: str,
        *,
        frozen: bool | None = None,
        credit_cents: int | None = None,
        overdue_privilege: OverduePrivilege | None = None,
        group_role: GroupRole | None = None,
        savings_unit: str | _Unchanged | None = UNCHANGED,
        card_bound: bool | None = None,
        overdue_bills: int | None = None,
        info_complete: bool | None = None,
    ) -> None:
        """Change the given fields; ``savings_unit=None`` takes the account out
        of its unit. The standing (overdue bills, complete information) goes to
        ``account_standing``; discounts are rows of their own (:meth:`add_discount`)."""
        changes: dict[str, Any] = {
            name: value
            for name, value in {
                "frozen": frozen,
                "credit_cents": credit_cents,
                "overdue_privilege": overdue_privilege,
                "group_role": group_role,
                "card_bound": card_bound,
            }.items()
            if value is not None
        }
        if not isinstance(savings_unit, _Unchanged):
            changes["savings_unit"] = savings_unit
        standing = {
            name: value
            for name, value in {
                "overdue_bills": overdue_bills,
                "info_complete": info_complete,
            }.items()
            if value is not None
        }
        if standing.get("overdue_bills", 0) < 0:
            raise ValueError("overdue_bills is a count: at least 0")
        with self._write() as conn:
            set_account_in(conn, uin, changes)
            if standing:
                set_standing_in(conn, uin, standing)

    def add_discount(self, uin: str, name: str) -> None:
        """Give the customer an active discount (the cutover ends it); repeating
        it changes nothing, and a deactivated one becomes active again."""
        with self._write() as conn:
            require_account(conn, uin)
            conn.execute(
                idempotent_insert(conn.dialect.name, discounts)
                .values(customer_uin=uin, name=name, granted_at=now())
                .on_conflict_do_nothing()
            )
            conn.execute(
                update(discounts)
                .where(discounts.c.customer_uin == uin, discounts.c.name == name)
                .values(ended_at=None)
            )

    def end_discount(self, uin: str, name: str) -> None:
        """Deactivate one discount (the reseller's promise in the notice); it
        stays listed, as ended, in the cutover plan. Repeating it changes nothing."""
        with self._write() as conn:
            conn.execute(
                update(discounts)
                .where(
                    discounts.c.customer_uin == uin,
                    discounts.c.name == name,
                    discounts.c.ended_at.is_(None),
                )
                .values(ended_at=now())
            )

    def show(self, uin: str) -> dict[str, Any]:
        """The account as JSON-ready data: its fields, its partner (None once
        unbound), its current or latest agreement, and its own partner profile."""
        with self._read() as conn:
            row = require_account(conn, uin)
            agreement = current_agreement(conn, uin)
            profile = partner_row(conn, uin)
            standing = standing_of(conn, uin)
            active_discounts = discount_names(conn, uin, active_only=True)
            every_discount = discount_names(conn, uin, active_only=False)
        bound = if_active(agreement)
        return {
            "uin": row.uin,
            "name": row.name,
            "owner_uin": row.owner_uin,
            "frozen": row.frozen,
            "credit": amount_from_cents(row.credit_cents),
            "overdue_privilege": row.overdue_privilege.value,
            "group_role": row.group_role.value,
            "savings_unit": row.savings_unit,
            "card_bound": row.card_bound,
            **standing,
            "discounts": active_discounts,
            "active_discounts": len(active_discounts),
            "ended_discounts": [name for name in every_discount if name not in active_discounts],
            "partner": {
                "uin": bound.partner_uin,
                "kind": bound.kind.value,
                "distributor_uin": bound.distributor_uin,
            }
            if bound is not None
            else None,
            "agreement": {
                "id": agreement.id,
                "state": agreement.state.value,
                "partner_uin": agreement.partner_uin,
                "signed_at": agreement.signed_at.isoformat(),
                "invalidated_at": _iso(agreement.invalidated_at),
            }
            if agreement is not None
            else None,
            "partner_profile": {
                "kind": profile.kind.value,
                "distributor_uin": profile.distributor_uin,
            }
            if profile is not None
            else None,
        }


# ---- ledger helpers, each inside the caller's transaction ----------------------

_UIN = re.compile(UIN_PATTERN)


def _check_uin(uin: str, field: str = "uin") -> None:
    if not _UIN.fullmatch(uin):
        raise ValueError(f"{field} {uin!r} is not a UIN (5-20 digits, no leading zero)")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _ensure_account(conn: Connection, uin: str, **values: Any) -> SqlRow:
    row = account_row(conn, uin)
    if row is None:
        conn.execute(accounts.insert().values(uin=uin, **values))
        row = require_account(conn, uin)
    return row


def add_partner_in(
    conn: Connection,
    uin: str,
    *,
    kind: PartnerKind,
    distributor_uin: str | None = None,
    name: str | None = None,
) -> None:
    _check_uin(uin)
    if kind is PartnerKind.SECOND_LEVEL_RESELLER and distributor_uin is None:
        raise ValueError(f"second-level reseller {uin} needs its distributor")
    if kind is not PartnerKind.SECOND_LEVEL_RESELLER and distributor_uin is not None:
        raise ValueError(f"only a second-level reseller has a distributor, not a {kind}")
    if distributor_uin is not None:
        _check_uin(distributor_uin, "distributor_uin")
        distributor = partner_row(conn, distributor_uin)
        if distributor is None:
            raise UnknownAccount(f"no distributor {distributor_uin}")
        if distributor.kind is not PartnerKind.DISTRIBUTOR:
            raise LedgerConflict(
                f"partner {distributor_uin} is a {distributor.kind}, not a distributor"
            )
    account = _ensure_account(conn, uin, name=name)
    if account.owner_uin is not None:
        raise LedgerConflict(
            f"account {uin} is a sub-user of {account.owner_uin}, not a root account"
        )
    existing = partner_row(conn, uin)
    if existing is None:
        conn.execute(partners.insert().values(uin=uin, kind=kind, distributor_uin=distributor_uin))
    elif existing.kind is not kind or existing.distributor_uin != distributor_uin:
        under = f" under {existing.distributor_uin}" if existing.distributor_uin else ""
        raise LedgerConflict(f"partner {uin} is already a {existing.kind}{under}")


def add_customer_in(
    conn: Connection, uin: str, *, partner_uin: str, name: str | None, card: bool
) -> None:
    _check_uin(uin)
    _check_uin(partner_uin, "partner_uin")
    partner = partner_row(conn, partner_uin)
    if partner is None:
        raise UnknownAccount(f"no partner {partner_uin}")
    if partner.kind is PartnerKind.DISTRIBUTOR:
        raise LedgerConflict(
            f"{partner_uin} is a distributor: customers belong to a reseller "
            "or a second-level reseller"
        )
    if uin == partner_uin:
        raise LedgerConflict(f"account {uin} cannot be its own customer")
    account = _ensure_account(conn, uin, name=name, card_bound=card)
    if account.owner_uin is not None:
        raise LedgerConflict(f"account {uin} is a sub-user of {account.owner_uin}, not a customer")
    bound_to = conn.execute(
        select(agreements.c.partner_uin).where(agreements.c.customer_uin == uin, active)
    ).scalar()
    if bound_to == partner_uin:
        return
    if bound_to is not None:
        raise LedgerConflict(f"customer {uin} is already bound to partner {bound_to}")
    conn.execute(
        agreements.insert().values(
            customer_uin=uin,
            partner_uin=partner_uin,
            state=AgreementState.ACTIVE,
            signed_at=now(),
        )
    )


def add_subuser_in(conn: Connection, uin: str, *, owner_uin: str) -> None:
    _check_uin(uin)
    _check_uin(owner_uin, "owner_uin")
    if uin == owner_uin:
        raise LedgerConflict(f"account {uin} cannot be its own sub-user")
    owner = require_account(conn, owner_uin)
    if owner.owner_uin is not None:
        raise LedgerConflict(f"account {owner_uin} is itself a sub-user, not a root account")
    account = account_row(conn, uin)
    if account is None:
        conn.execute(accounts.insert().values(uin=uin, owner_uin=owner_uin))
    elif account.owner_uin != owner_uin:
        owned_by = f"a sub-user of {account.owner_uin}" if account.owner_uin else "a root account"
        raise LedgerConflict(f"account {uin} already exists as {owned_by}")


def set_account_in(conn: Connection, uin: str, changes: Mapping[str, Any]) -> None:
    require_account(conn, uin)
    if changes:
        conn.execute(update(accounts).where(accounts.c.uin == uin).values(**changes))


def set_standing_in(conn: Connection, uin: str, changes: Mapping[str, Any]) -> None:
    """Upsert the account's standing row with ``changes`` (at least one), the
    rest kept. Only the changed columns are set on conflict: a whole row read
    first would, under PostgreSQL's read committed, undo a concurrent change
    to another column."""
    values = {**STANDING_DEFAULTS, **changes}
    stmt = idempotent_insert(conn.dialect.name, account_standing).values(uin=uin, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["uin"], set_=dict(changes)))
