"""Quotas (issue 13, item 3): at most so many applications per customer and
per reseller-customer pair over a window of calendar months, counted from the
records, each a named check with the first moment another one is allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import ActivityEnvironment

from activities.partner_center import (
    HINTS,
    Quota,
    Quotas,
    Submitted,
    months_after,
    months_before,
    quota_checks,
)
from activities.unbinding import UnbindingActivities
from starter.configuration import quotas_from_env
from starter.errors import BadConfiguration
from tests.activities.conftest import SeededLedger
from workflows.model import CheckName, PrecheckRequest, UnbindStatus

NOW = datetime(2026, 5, 31, 12, 0, tzinfo=UTC)
RESELLER, OTHER = "10000000002", "10000000005"


def test_calendar_months_keep_the_day_or_take_the_months_last() -> None:
    assert months_before(NOW, 3) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert months_after(datetime(2025, 11, 30, tzinfo=UTC), 3) == datetime(2026, 2, 28, tzinfo=UTC)
    assert months_after(datetime(2026, 1, 15, tzinfo=UTC), 12) == datetime(2027, 1, 15, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 1) == datetime(2025, 12, 15, tzinfo=UTC)


def _at(*days_ago: int, by: str = RESELLER) -> list[Submitted]:
    return [Submitted(by, NOW - timedelta(days=d)) for d in days_ago]


def test_under_the_limit_passes_and_outside_the_window_does_not_count() -> None:
    earlier = _at(10, 20) + _at(100, 200)  # the last two are more than 3 months ago
    assert quota_checks(reseller_uin=RESELLER, earlier=earlier, quotas=Quotas(), now=NOW) == []


def test_the_customer_quota_names_when_the_next_one_is_allowed() -> None:
    # Three by other resellers: the customer's quota, not this pair's.
    earlier = _at(80, 30, 5, by=OTHER)
    [check] = quota_checks(reseller_uin=RESELLER, earlier=earlier, quotas=Quotas(), now=NOW)
    oldest = NOW - timedelta(days=80)
    assert check.check is CheckName.CUSTOMER_QUOTA
    assert check.next_allowed_at == months_after(oldest, 3)
    assert check.hint == (
        f"{HINTS[CheckName.CUSTOMER_QUOTA]} (3 of at most 3 in 3 months): the next one is "
        f"allowed from {months_after(oldest, 3):%Y-%m-%d %H:%M} UTC"
    )
    # Once the oldest has left the window, another is allowed.
    later = check.next_allowed_at
    assert quota_checks(reseller_uin=RESELLER, earlier=earlier, quotas=Quotas(), now=later) == []
    assert quota_checks(
        reseller_uin=RESELLER,
        earlier=earlier,
        quotas=Quotas(),
        now=later - timedelta(seconds=1),
    )


def test_over_the_limit_the_date_waits_for_enough_to_leave() -> None:
    # Five in the window with a limit of 3: three must leave, the third oldest last.
    earlier = _at(85, 70, 60, 10, 1)
    checks = quota_checks(reseller_uin=RESELLER, earlier=earlier, quotas=Quotas(), now=NOW)
    assert [c.check for c in checks] == [CheckName.CUSTOMER_QUOTA, CheckName.PAIR_QUOTA]
    assert {c.next_allowed_at for c in checks} == {months_after(NOW - timedelta(days=60), 3)}


def test_the_pair_quota_alone_and_a_quota_switched_off() -> None:
    quotas = Quotas(per_customer=Quota(limit=0), per_pair=Quota(limit=2, months=1))
    earlier = _at(20, 3) + _at(1, by=OTHER)
    [check] = quota_checks(reseller_uin=RESELLER, earlier=earlier, quotas=quotas, now=NOW)
    assert check.check is CheckName.PAIR_QUOTA
    assert check.next_allowed_at == months_after(NOW - timedelta(days=20), 1)
    assert quota_checks(reseller_uin=OTHER, earlier=earlier, quotas=quotas, now=NOW) == []


def test_a_quota_that_makes_no_sense_is_refused() -> None:
    with pytest.raises(ValueError, match="quota"):
        Quota(limit=-1)
    with pytest.raises(ValueError, match="quota"):
        Quota(months=0)


def test_quotas_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNBIND_QUOTA_PER_CUSTOMER", raising=False)
    monkeypatch.setenv("UNBIND_QUOTA_PER_PAIR", "5/6")
    assert quotas_from_env() == Quotas(per_customer=Quota(3, 3), per_pair=Quota(5, 6))
    for bad in ("3", "three/3", "3/0", "-1/3", "٣/3"):
        monkeypatch.setenv("UNBIND_QUOTA_PER_CUSTOMER", bad)
        with pytest.raises(BadConfiguration) as refused:
            quotas_from_env()
        assert refused.value.field == "UNBIND_QUOTA_PER_CUSTOMER"
        assert "LIMIT/MONTHS" in refused.value.message


# ---- counted from the records, on SQLite and PostgreSQL ---------------------------


def test_the_records_count_what_passed_its_checks_in_the_window(seeded: SeededLedger) -> None:
    center, now = seeded.center, datetime.now(UTC)
    statuses = [
        ("app-quota-001", UnbindStatus.CUSTOMER_REJECTED, now - timedelta(days=40)),
        ("app-quota-002", UnbindStatus.WITHDRAWN, now - timedelta(days=20)),
        ("app-quota-003", UnbindStatus.PRECHECK_FAILED, now - timedelta(days=10)),
        ("app-quota-004", UnbindStatus.COMPLETED, now - timedelta(days=200)),
    ]
    for application_id, status, at in statuses:
        center.save_record(seeded.record(application_id, status=status, submitted_at=at))
    counted = center.submitted_since(
        seeded.customer, months_before(now, 3), other_than="app-quota-new"
    )
    assert sorted(s.submitted_at for s in counted) == [
        now - timedelta(days=40),
        now - timedelta(days=20),
    ]
    assert {s.reseller_uin for s in counted} == {seeded.reseller}
    # The application being checked never counts against itself.
    assert (
        len(
            center.submitted_since(
                seeded.customer, now - timedelta(days=90), other_than="app-quota-002"
            )
        )
        == 1
    )


def test_the_submission_check_applies_the_quota(seeded: SeededLedger) -> None:
    center, now = seeded.center, datetime.now(UTC)
    for n, days in enumerate((50, 30)):
        center.save_record(
            seeded.record(
                f"app-quota-00{n}",
                status=UnbindStatus.CUSTOMER_REJECTED,
                submitted_at=now - timedelta(days=days),
            )
        )
    request = PrecheckRequest(
        application_id="app-quota-new",
        customer_uin=seeded.customer,
        initiator_uin=seeded.reseller,
        submitter_uin=seeded.reseller,
    )
    env = ActivityEnvironment()
    assert env.run(UnbindingActivities(center).check_application, request).failed_checks == []
    tight = Quotas(per_pair=Quota(limit=2, months=3))
    result = env.run(UnbindingActivities(center, quotas=tight).check_application, request)
    [check] = result.failed_checks
    assert check.check is CheckName.PAIR_QUOTA
    assert check.next_allowed_at == months_after(now - timedelta(days=50), 3)
