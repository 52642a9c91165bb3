"""The notice, checked (issue 13, item 1): overdue bills and active discounts
at submission and at the final check, complete account information at the
final check, each a named check with a hint, over real rows."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from activities.partner_center import HINTS, final_checks, submission_checks
from activities.sql import SqlPartnerCenter
from activities.sql.schema import account_standing
from tests.activities.conftest import SeededLedger
from workflows.model import CheckName, FailedCheck, Requester


def _submission(pc: SqlPartnerCenter, seeded: SeededLedger) -> list[CheckName]:
    checks = submission_checks(
        customer=pc.account(seeded.customer),
        initiator=pc.account(seeded.reseller),
        submitter=pc.account(seeded.reseller),
        initiator_uin=seeded.reseller,
        open_application=None,
    )
    return [c.check for c in checks]


def test_an_account_without_standing_owes_nothing_and_is_complete(
    partner_center: SqlPartnerCenter, seeded: SeededLedger
) -> None:
    account = partner_center.account(seeded.customer)
    assert account is not None
    assert (account.overdue_bills, account.active_discounts, account.info_complete) == (
        0,
        0,
        True,
    )
    assert _submission(partner_center, seeded) == []
    assert final_checks(account) == []
    shown = partner_center.show(seeded.customer)
    assert (shown["overdue_bills"], shown["active_discounts"], shown["info_complete"]) == (
        0,
        0,
        True,
    )


def test_overdue_bills_and_discounts_fail_the_submission_with_counted_hints(
    partner_center: SqlPartnerCenter, seeded: SeededLedger
) -> None:
    partner_center.set_account(seeded.customer, overdue_bills=2)
    partner_center.add_discount(seeded.customer, "Storage 10% off")
    account = partner_center.account(seeded.customer)
    assert account is not None
    checks = submission_checks(
        customer=account,
        initiator=partner_center.account(seeded.reseller),
        submitter=partner_center.account(seeded.reseller),
        initiator_uin=seeded.reseller,
        open_application=None,
    )
    assert [(c.check, c.hint) for c in checks] == [
        (CheckName.OVERDUE_BILLS, f"{HINTS[CheckName.OVERDUE_BILLS]}: 2 overdue bills left"),
        (
            CheckName.ACTIVE_DISCOUNTS,
            f"{HINTS[CheckName.ACTIVE_DISCOUNTS]}: 1 active discount left",
        ),
    ]
    # The same two again at the final check.
    assert [c.check for c in final_checks(account)] == [
        CheckName.OVERDUE_BILLS,
        CheckName.ACTIVE_DISCOUNTS,
    ]
    # The reseller's promises: the customer's own request is not held to them.
    customers_own = submission_checks(
        customer=account,
        initiator=account,
        submitter=account,
        initiator_uin=seeded.customer,
        open_application=None,
        requested_by=Requester.CUSTOMER,
    )
    assert customers_own == []
    assert final_checks(account, Requester.CUSTOMER) == []


def test_incomplete_information_fails_only_the_final_check(
    partner_center: SqlPartnerCenter, seeded: SeededLedger
) -> None:
    partner_center.set_account(seeded.customer, info_complete=False)
    account = partner_center.account(seeded.customer)
    assert account is not None
    assert _submission(partner_center, seeded) == []
    assert final_checks(account) == [
        FailedCheck(check=CheckName.ACCOUNT_INFORMATION, hint=HINTS[CheckName.ACCOUNT_INFORMATION])
    ]


def test_standing_changes_keep_the_other_fields_and_repeat_harmlessly(
    partner_center: SqlPartnerCenter, seeded: SeededLedger
) -> None:
    pc = partner_center
    pc.set_account(seeded.customer, overdue_bills=3)
    pc.set_account(seeded.customer, info_complete=False)
    pc.set_account(seeded.customer, info_complete=False)
    with pc._read() as conn:
        rows = conn.execute(select(account_standing)).all()
    assert [(r.uin, r.overdue_bills, r.info_complete) for r in rows] == [
        (seeded.customer, 3, False)
    ]
    pc.set_account(seeded.customer, overdue_bills=0, info_complete=True)
    account = pc.account(seeded.customer)
    assert account is not None
    assert final_checks(account) == []


def test_a_negative_count_is_refused_and_nothing_changes(
    partner_center: SqlPartnerCenter, seeded: SeededLedger
) -> None:
    with pytest.raises(ValueError, match="a count: at least 0"):
        partner_center.set_account(seeded.customer, overdue_bills=-1)
    assert partner_center.show(seeded.customer)["overdue_bills"] == 0
