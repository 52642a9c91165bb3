"""Each activity run twice, as a retry would: one effect in the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.unbinding import UnbindingActivities
from workflows.model import (
    AccountCheckRequest,
    CardCheckRequest,
    CheckName,
    Parties,
    PartnerKind,
    PrecheckRequest,
    UnbindStatus,
)

TABLES = ("accounts", "partners", "agreements", "unbinding_records", "cutovers", "inbox")


@pytest.fixture
def env() -> ActivityEnvironment:
    return ActivityEnvironment()


@pytest.fixture
def acts(seeded) -> UnbindingActivities:
    return UnbindingActivities(seeded.center)


@contextmanager
def transactions_begun(center: Any) -> Iterator[list[object]]:
    """Each transaction the partner center begins while inside, one item each."""
    begun: list[object] = []

    def count(conn: object) -> None:
        begun.append(conn)

    engine = center._engine
    event.listen(engine, "begin", count)
    try:
        yield begun
    finally:
        event.remove(engine, "begin", count)


def test_each_check_reads_one_state_of_the_partner_center_in_one_transaction(
    seeded, acts: UnbindingActivities, env: ActivityEnvironment
) -> None:
    submission = PrecheckRequest(
        application_id="app-00000001",
        customer_uin=seeded.customer,
        initiator_uin=seeded.reseller,
        submitter_uin=seeded.reseller,
    )
    final = AccountCheckRequest(application_id="app-00000001", customer_uin=seeded.customer)
    with transactions_begun(seeded.center) as begun:
        assert env.run(acts.check_application, submission).failed_checks == []
    assert len(begun) == 1
    with transactions_begun(seeded.center) as begun:
        assert env.run(acts.check_account, final).failed_checks == []
    assert len(begun) == 1


def row_counts(seeded) -> dict[str, int]:
    return {table: seeded.center.count(table) for table in TABLES}


def test_checking_an_application_twice_reads_the_same_and_writes_nothing(
    seeded, acts: UnbindingActivities, env: ActivityEnvironment
) -> None:
    request = PrecheckRequest(
        application_id="app-00000001",
        customer_uin=seeded.second_level_customer,
        initiator_uin=seeded.second_level_reseller,
        submitter_uin=seeded.second_level_reseller,
    )
    before = row_counts(seeded)

    first = env.run(acts.check_application, request)
    second = env.run(acts.check_application, request)

    assert second == first
    assert first.failed_checks == []
    assert first.card_bound is False
    assert first.parties == Parties(
        customer_uin=seeded.second_level_customer,
        reseller_uin=seeded.second_level_reseller,
        partner_kind=PartnerKind.SECOND_LEVEL_RESELLER,
        distributor_uin=seeded.distributor,
    )
    assert row_counts(seeded) == before


def test_checking_an_application_for_someone_elses_customer_tells_only_that(
    seeded, acts: UnbindingActivities, env: ActivityEnvironment
) -> None:
    """A stranger learns that it may not apply, and nothing of the account:
    not its state, its other application, its quotas or who its partners are."""
    seeded.center.save_record(seeded.record("app-open"))
    seeded.center.set_account(seeded.customer, frozen=True, overdue_bills=3, card_bound=True)
    request = PrecheckRequest(
        application_id="app-00000002",
        customer_uin=seeded.customer,
        initiator_uin=seeded.other_reseller,
        submitter_uin=seeded.other_reseller,
    )

    result = env.run(acts.check_application, request)

    assert [failed.check for failed in result.failed_checks] == [CheckName.RELATIONSHIP]
    assert (result.parties, result.card_bound, result.discounts) == (None, False, ())

    # Its own reseller is told every failure, and who the parties are.
    own = request.model_copy(
        update={"initiator_uin": seeded.reseller, "submitter_uin": seeded.reseller}
    )
    result = env.run(acts.check_application, own)
    assert CheckName.ACCOUNT_FROZEN in [failed.check for failed in result.failed_checks]
    assert CheckName.OPEN_APPLICATION in [failed.check for failed in result.failed_checks]
    assert result.parties is not None and result.parties.reseller_uin == seeded.reseller


def test_the_final_check_and_the_card_check_read_the_ledger(
    seeded, acts: UnbindingActivities, env: ActivityEnvironment
) -> None:
    seeded.center.set_account(seeded.second_level_customer, savings_unit="sp-unit-1")
    account = AccountCheckRequest(
        application_id="app-00000001", customer_uin=seeded.second_level_customer
    )
    card = CardCheckRequest(customer_uin=seeded.second_level_customer)

    assert env.run(acts.check_card, card) is False
    result = env.run(acts.check_account, account)
    assert [failed.check for failed in result.failed_checks] == [
        CheckName.SAVINGS_PLAN_UNIT,
        CheckName.CARD,
    ]
    assert result.card_bound is False

    seeded.center.set_account(seeded.second_level_customer, savings_unit=None, card_bound=True)
    assert env.run(acts.check_card, card) is True
    assert env.run(acts.check_account, account).failed_checks == []
    assert env.run(acts.check_account, account).card_bound is True


def test_the_final_check_of_a_vanished_customer_fails_the_relationship_check(
    seeded, acts: UnbindingActivities, env: ActivityEnvironment
) -> None:
    request = AccountCheckRequest(application_id="app-00000001", customer_uin="20000000099")

    result = env.run(acts.check_account, request)

    assert [failed.check for failed in result.failed_checks] == [CheckName.RELATIONSHIP]
    assert "20000000099 no longer exists" in result.failed_checks[0].hint
    assert result.card_bound is False


def test_saving_a_record_twice_keeps_one_row(
    seeded, acts: UnbindingActivities, env: ActivityEnvironment
) -> None:
    record = seeded.record(revision=2, status=UnbindStatus.PENDING_CARD_BINDING)

    env.run(acts.save_record, record)
    env.run(acts.save_record, record)

    assert seeded.center.count("unbinding_records") == 1
    assert seeded.center.records() == [record]


def test_notifying_twice_delivers_once_per_recipient(
    seeded, acts: UnbindingActivities, env: ActivityEnvironment
) -> None:
    notification = seeded.notification(recipients=(seeded.customer, seeded.reseller))

    assert env.run(acts.notify, notification) == 2
    assert env.run(acts.notify, notification) == 0

    assert seeded.center.count("inbox", application_id=notification.application_id) == 2
    assert [m["subject"] for m in seeded.center.inbox(seeded.reseller)] == [notification.subject]


def test_cutting_over_twice_invalidates_one_agreement(
    seeded, acts: UnbindingActivities, env: ActivityEnvironment
) -> None:
    request = seeded.cutover()

    first = env.run(acts.cut_over, request)
    second = env.run(acts.cut_over, request)

    assert second == first
    assert seeded.center.count("cutovers", application_id="app-00000001") == 1
    assert seeded.center.count("agreements", customer_uin=seeded.customer, state="active") == 0
    assert (
        seeded.center.count(
            "agreements", state="invalidated", invalidated_by_application="app-00000001"
        )
        == 1
    )


def test_cutting_over_someone_elses_customer_fails_without_retry(
    seeded, acts: UnbindingActivities, env: ActivityEnvironment
) -> None:
    request = seeded.cutover(reseller=seeded.other_reseller)

    for _attempt in range(2):
        with pytest.raises(ApplicationError) as raised:
            env.run(acts.cut_over, request)
        assert raised.value.type == "RelationshipConflict"
        assert raised.value.non_retryable
        assert seeded.customer in str(raised.value)

    assert seeded.center.count("cutovers") == 0
    assert seeded.center.count("agreements", customer_uin=seeded.customer, state="active") == 1
