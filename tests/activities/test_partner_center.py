"""The SQL partner center on a real SQLite file: the ledger, the checks over
real rows, and the idempotent writes the activities rely on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect

from activities.partner_center import (
    ApplicationClosed,
    LedgerConflict,
    RelationshipConflict,
    UnknownAccount,
    final_checks,
    submission_checks,
)
from activities.sql import DEFAULT_DATABASE_URL, SqlPartnerCenter, database_url_from_env
from activities.sql.database import write_transaction
from activities.sql.demo import DEMO_DISTRIBUTOR, DEMO_RESELLER, DEMO_SECOND_LEVEL_RESELLER
from activities.sql.ledger import (
    UNCHANGED,
    amount_from_cents,
    cents_from_amount,
    set_standing_in,
)
from starter.devstack.database import migrated
from starter.devstack.process import ROOT
from tests.conftest import eventually
from tests.workflows import spec_oracle
from workflows import texts
from workflows.model import (
    CheckName,
    CutoverPlan,
    CutoverRequest,
    Effective,
    FailedCheck,
    GroupRole,
    Outbox,
    OverduePrivilege,
    PartnerKind,
    Requester,
    UnbindingRecord,
    UnbindStatus,
)

S = UnbindStatus

# ---- the database ------------------------------------------------------------


def test_the_migrated_schema_has_every_table_and_keeps_rows(database_url: str) -> None:
    with SqlPartnerCenter(database_url) as center:
        center.add_partner("10000000002", kind=PartnerKind.RESELLER)
    with SqlPartnerCenter(database_url) as center:  # opening it again keeps what is there
        assert center.count("partners") == 1

    engine = create_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert tables == {
        "alembic_version",
        "accounts",
        "partners",
        "agreements",
        "discounts",
        "unbinding_records",
        "cutovers",
        "inbox",
        "audit_refusals",
        "account_standing",
        "consent_evidence",
    }


def test_a_sqlite_file_is_created_in_a_new_directory(tmp_path: Path) -> None:
    """SQLite on purpose: only a file has a directory to create."""
    database = tmp_path / "nested" / "var" / "unbind.db"
    with SqlPartnerCenter(migrated(f"sqlite:///{database}")) as center:
        center.add_partner("10000000002", kind=PartnerKind.RESELLER)
    assert database.exists()


def test_database_url_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite on purpose: the default is a file under the project's var/,
    wherever the process runs, and a file shows which URL was used."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("UNBIND_DATABASE_URL", raising=False)
    assert database_url_from_env() == DEFAULT_DATABASE_URL
    assert f"sqlite:///{ROOT / 'var' / 'unbind.db'}" == DEFAULT_DATABASE_URL

    monkeypatch.setenv("UNBIND_DATABASE_URL", migrated(f"sqlite:///{tmp_path / 'elsewhere.db'}"))
    with SqlPartnerCenter.from_env() as center:
        center.add_partner("10000000002", kind=PartnerKind.RESELLER)
    assert (tmp_path / "elsewhere.db").exists()


def test_amounts_convert_to_cents_and_back() -> None:
    assert cents_from_amount("-12.5") == -1250
    assert cents_from_amount("100") == 10000
    assert amount_from_cents(-1250) == "-12.50"
    assert amount_from_cents(5) == "0.05"
    with pytest.raises(ValueError):
        cents_from_amount("0.001")
    with pytest.raises(ValueError):
        cents_from_amount("ten")


@pytest.mark.parametrize(
    "amount",
    [
        "99999999999999999999999999.995",  # 28-digit Decimal arithmetic rounds this to whole cents
        "1.0000000000000000000000000000000000001",
        "1e-999999999",
        "1e999999999",
        "NaN",
        "-Infinity",
    ],
)
def test_amounts_beyond_decimal_precision_are_refused_not_rounded(amount: str) -> None:
    with pytest.raises(ValueError):
        cents_from_amount(amount)


def test_amounts_convert_exactly_at_any_length() -> None:
    assert cents_from_amount("99999999999999999999999999.99") == 9999999999999999999999999999
    assert cents_from_amount("-1.50000000000000000000000000000000") == -150
    assert cents_from_amount("12E+3") == 1200000
    assert cents_from_amount("-0.00") == 0
    assert cents_from_amount("0E-999999999") == 0


# ---- ledger administration ---------------------------------------------------


def test_registering_a_partner_twice_is_harmless_but_changing_its_kind_is_refused(
    partner_center: SqlPartnerCenter,
) -> None:
    center = partner_center
    center.add_partner("10000000002", kind=PartnerKind.RESELLER, name="Reseller")
    center.add_partner("10000000002", kind=PartnerKind.RESELLER)

    assert center.count("partners") == 1
    with pytest.raises(LedgerConflict, match="10000000002"):
        center.add_partner("10000000002", kind=PartnerKind.DISTRIBUTOR)
    assert center.show("10000000002")["partner_profile"] == {
        "kind": "reseller",
        "distributor_uin": None,
    }


def test_a_second_level_reseller_belongs_to_an_existing_distributor(
    partner_center: SqlPartnerCenter,
) -> None:
    center = partner_center
    center.add_partner("10000000002", kind=PartnerKind.RESELLER)
    slr = PartnerKind.SECOND_LEVEL_RESELLER

    with pytest.raises(ValueError, match="distributor"):
        center.add_partner("10000000003", kind=slr)
    with pytest.raises(ValueError, match="distributor"):
        center.add_partner("10000000009", kind=PartnerKind.RESELLER, distributor_uin="10000000002")
    with pytest.raises(UnknownAccount, match="10000000001"):
        center.add_partner("10000000003", kind=slr, distributor_uin="10000000001")
    with pytest.raises(LedgerConflict, match="10000000002"):
        center.add_partner("10000000003", kind=slr, distributor_uin="10000000002")
    assert center.count("accounts") == 1  # refusals leave nothing behind

    center.add_partner("10000000001", kind=PartnerKind.DISTRIBUTOR)
    center.add_partner("10000000003", kind=slr, distributor_uin="10000000001")
    assert center.show("10000000003")["partner_profile"] == {
        "kind": "second_level_reseller",
        "distributor_uin": "10000000001",
    }


def test_a_customer_is_bound_to_one_partner_at_a_time(seeded) -> None:
    center = seeded.center
    center.add_customer(seeded.customer, partner_uin=seeded.reseller)  # again: no-op

    assert center.count("agreements", customer_uin=seeded.customer) == 1
    with pytest.raises(LedgerConflict, match=seeded.reseller):
        center.add_customer(seeded.customer, partner_uin=seeded.other_reseller)
    with pytest.raises(UnknownAccount, match="19999999999"):
        center.add_customer("20000000099", partner_uin="19999999999")
    with pytest.raises(LedgerConflict, match="distributor"):
        center.add_customer("20000000099", partner_uin=seeded.distributor)
    with pytest.raises(LedgerConflict, match="sub-user"):
        center.add_customer(seeded.reseller_subuser, partner_uin=seeded.other_reseller)
    with pytest.raises(ValueError, match="UIN"):
        center.add_customer("0123", partner_uin=seeded.reseller)


def test_sub_users_belong_to_a_root_account(seeded) -> None:
    center = seeded.center
    center.add_subuser(seeded.reseller_subuser, owner_uin=seeded.reseller)  # again: no-op

    with pytest.raises(UnknownAccount, match="19999999999"):
        center.add_subuser("10000000099", owner_uin="19999999999")
    with pytest.raises(LedgerConflict, match="root account"):
        center.add_subuser("10000000099", owner_uin=seeded.reseller_subuser)
    with pytest.raises(LedgerConflict, match="root account"):
        center.add_subuser(seeded.other_reseller, owner_uin=seeded.reseller)
    with pytest.raises(LedgerConflict, match="sub-user"):
        center.add_partner(seeded.reseller_subuser, kind=PartnerKind.RESELLER)
    assert center.show(seeded.reseller_subuser)["owner_uin"] == seeded.reseller


def test_setting_account_fields_changes_only_those_given(seeded) -> None:
    center = seeded.center
    center.set_account(
        seeded.customer,
        frozen=True,
        credit_cents=-1250,
        overdue_privilege=OverduePrivilege.PREPAID,
        group_role=GroupRole.ADMIN,
        savings_unit="sp-unit-1",
    )
    center.set_account(seeded.customer, card_bound=False, savings_unit=UNCHANGED)

    shown = center.show(seeded.customer)
    assert {key: shown[key] for key in ("frozen", "credit", "overdue_privilege", "group_role")} == {
        "frozen": True,
        "credit": "-12.50",
        "overdue_privilege": "prepaid",
        "group_role": "admin",
    }
    assert (shown["savings_unit"], shown["card_bound"]) == ("sp-unit-1", False)

    center.set_account(seeded.customer, savings_unit=None)
    assert center.show(seeded.customer)["savings_unit"] is None
    with pytest.raises(UnknownAccount, match="20000000099"):
        center.set_account("20000000099", frozen=False)
    with pytest.raises(UnknownAccount, match="20000000099"):
        center.show("20000000099")


def test_show_gives_the_partner_and_the_agreement(seeded) -> None:
    shown = seeded.center.show(seeded.second_level_customer)

    assert shown["partner"] == {
        "uin": seeded.second_level_reseller,
        "kind": "second_level_reseller",
        "distributor_uin": seeded.distributor,
    }
    assert shown["agreement"]["state"] == "active"
    assert shown["agreement"]["partner_uin"] == seeded.second_level_reseller
    assert shown["agreement"]["invalidated_at"] is None
    assert datetime.fromisoformat(shown["agreement"]["signed_at"]).tzinfo is not None
    assert shown["partner_profile"] is None
    assert shown["credit"] == "0.00"


def test_seeding_the_demo_twice_creates_it_once(partner_center: SqlPartnerCenter) -> None:
    center = partner_center
    first = center.seed_demo()
    counts = {table: center.count(table) for table in ("accounts", "partners", "agreements")}
    second = center.seed_demo()

    assert second["created"] == []
    assert len(first["created"]) == counts["accounts"]
    assert {table: center.count(table) for table in counts} == counts
    assert center.show(DEMO_SECOND_LEVEL_RESELLER)["partner_profile"] == {
        "kind": "second_level_reseller",
        "distributor_uin": DEMO_DISTRIBUTOR,
    }
    partners = {customer["partner_uin"] for customer in first["customers"]}
    assert partners == {DEMO_RESELLER, DEMO_SECOND_LEVEL_RESELLER}
    ready = [
        customer["uin"]
        for customer in first["customers"]
        if customer["condition"].startswith("ready")
    ]
    for uin in ready:
        snapshot = center.account(uin)
        assert snapshot is not None
        assert not submission_checks(
            customer=snapshot,
            initiator=center.account(snapshot.partner_uin or ""),
            submitter=center.account(snapshot.partner_uin or ""),
            initiator_uin=snapshot.partner_uin or "",
            open_application=None,
        )


# ---- account snapshots and the checks over them ----------------------------


def test_a_resellers_customer_snapshot_names_its_partner(seeded) -> None:
    snapshot = seeded.center.account(seeded.customer)

    assert snapshot is not None
    assert (snapshot.partner_uin, snapshot.partner_kind) == (seeded.reseller, PartnerKind.RESELLER)
    assert snapshot.distributor_uin is None
    assert snapshot.agreement_state == "active"
    assert snapshot.card_bound is True
    assert snapshot.overdue_privilege is OverduePrivilege.NONE
    assert snapshot.group_role is GroupRole.NONE
    assert seeded.center.account("20000000099") is None


def test_a_second_level_customer_snapshot_names_the_distributor(seeded) -> None:
    snapshot = seeded.center.account(seeded.second_level_customer)

    assert snapshot is not None
    assert snapshot.partner_uin == seeded.second_level_reseller
    assert snapshot.partner_kind is PartnerKind.SECOND_LEVEL_RESELLER
    assert snapshot.distributor_uin == seeded.distributor
    assert snapshot.card_bound is False


def failed_checks(seeded, *, submitter: str | None = None) -> set[CheckName]:
    center = seeded.center
    return {
        failed.check
        for failed in submission_checks(
            customer=center.account(seeded.customer),
            initiator=center.account(seeded.reseller),
            submitter=center.account(submitter or seeded.reseller),
            initiator_uin=seeded.reseller,
            open_application=center.open_application_for(seeded.customer, other_than="app-new"),
        )
    }


BREAKS_AND_FIXES: dict[CheckName, tuple[Callable[..., None], Callable[..., None]]] = {
    CheckName.RELATIONSHIP: (
        lambda seeded: seeded.center.cut_over(seeded.cutover("app-earlier")),
        lambda seeded: seeded.center.add_customer(seeded.customer, partner_uin=seeded.reseller),
    ),
    CheckName.ACCOUNT_FROZEN: (
        lambda seeded: seeded.center.set_account(seeded.customer, frozen=True),
        lambda seeded: seeded.center.set_account(seeded.customer, frozen=False),
    ),
    CheckName.CREDIT: (
        lambda seeded: seeded.center.set_account(seeded.customer, credit_cents=-1),
        lambda seeded: seeded.center.set_account(seeded.customer, credit_cents=0),
    ),
    CheckName.OVERDUE_PRIVILEGE: (
        lambda seeded: seeded.center.set_account(
            seeded.customer, overdue_privilege=OverduePrivilege.POSTPAID
        ),
        lambda seeded: seeded.center.set_account(
            seeded.customer, overdue_privilege=OverduePrivilege.NONE
        ),
    ),
    CheckName.GROUP_MEMBERSHIP: (
        lambda seeded: seeded.center.set_account(seeded.customer, group_role=GroupRole.MEMBER),
        lambda seeded: seeded.center.set_account(seeded.customer, group_role=GroupRole.NONE),
    ),
    CheckName.SAVINGS_PLAN_UNIT: (
        lambda seeded: seeded.center.set_account(seeded.customer, savings_unit="sp-unit-1"),
        lambda seeded: seeded.center.set_account(seeded.customer, savings_unit=None),
    ),
    CheckName.OVERDUE_BILLS: (
        lambda seeded: seeded.center.set_account(seeded.customer, overdue_bills=1),
        lambda seeded: seeded.center.set_account(seeded.customer, overdue_bills=0),
    ),
    CheckName.ACTIVE_DISCOUNTS: (
        lambda seeded: seeded.center.add_discount(seeded.customer, "Storage 10% off"),
        lambda seeded: seeded.center.end_discount(seeded.customer, "Storage 10% off"),
    ),
    CheckName.OPEN_APPLICATION: (
        lambda seeded: seeded.center.save_record(seeded.record("app-open")),
        lambda seeded: seeded.center.save_record(
            seeded.record("app-open", revision=2, status=UnbindStatus.WITHDRAWN)
        ),
    ),
}


@pytest.mark.parametrize("check", list(BREAKS_AND_FIXES), ids=str)
def test_each_check_fails_on_its_own_condition_and_passes_once_fixed(
    seeded, check: CheckName
) -> None:
    break_it, fix_it = BREAKS_AND_FIXES[check]
    assert failed_checks(seeded) == set()

    break_it(seeded)
    assert failed_checks(seeded) == {check}

    fix_it(seeded)
    assert failed_checks(seeded) == set()


def test_a_missing_card_is_no_failure_at_submission(seeded) -> None:
    """It only means the customer is asked to bind one after confirming."""
    seeded.center.set_account(seeded.customer, card_bound=False)

    assert failed_checks(seeded) == set()


def test_each_submission_check_is_one_the_spec_names() -> None:
    # The quotas count records in the check activity (tests/activities/test_quotas.py).
    quotas = {CheckName.CUSTOMER_QUOTA, CheckName.PAIR_QUOTA}
    named = {str(check) for check in BREAKS_AND_FIXES} | {CheckName.ROOT_ACCOUNT} | quotas
    assert named == set(spec_oracle.SUBMISSION_CHECKS)


# The final check: the account checks again, and a card (SPEC section 3, issue 9).
FINAL_CHECKS = tuple(CheckName(check) for check in spec_oracle.FINAL_CHECKS)
FINAL_BREAKS_AND_FIXES: dict[CheckName, tuple[Callable[..., None], Callable[..., None]]] = {
    **{CheckName(c): BREAKS_AND_FIXES[CheckName(c)] for c in spec_oracle.ACCOUNT_CHECKS},
    CheckName.CARD: (
        lambda seeded: seeded.center.set_account(seeded.customer, card_bound=False),
        lambda seeded: seeded.center.set_account(seeded.customer, card_bound=True),
    ),
    CheckName.ACCOUNT_INFORMATION: (
        lambda seeded: seeded.center.set_account(seeded.customer, info_complete=False),
        lambda seeded: seeded.center.set_account(seeded.customer, info_complete=True),
    ),
}


def failed_final_checks(seeded) -> set[CheckName]:
    customer = seeded.center.account(seeded.customer)
    assert customer is not None
    return {failed.check for failed in final_checks(customer)}


@pytest.mark.parametrize("check", FINAL_CHECKS, ids=str)
def test_each_final_check_fails_on_its_own_condition_and_passes_once_fixed(
    seeded, check: CheckName
) -> None:
    break_it, fix_it = FINAL_BREAKS_AND_FIXES[check]
    assert failed_final_checks(seeded) == set()

    break_it(seeded)
    assert failed_final_checks(seeded) == {check}

    fix_it(seeded)
    assert failed_final_checks(seeded) == set()


def test_a_sub_user_cannot_submit_for_its_root_account(seeded) -> None:
    assert failed_checks(seeded, submitter=seeded.reseller_subuser) == {CheckName.ROOT_ACCOUNT}


def test_every_failing_check_is_reported_at_once(seeded) -> None:
    seeded.center.set_account(
        seeded.customer, frozen=True, credit_cents=-500, group_role=GroupRole.ADMIN
    )
    assert failed_checks(seeded, submitter=seeded.reseller_subuser) == {
        CheckName.ROOT_ACCOUNT,
        CheckName.ACCOUNT_FROZEN,
        CheckName.CREDIT,
        CheckName.GROUP_MEMBERSHIP,
    }


def test_an_unknown_customer_fails_the_relationship_check(seeded) -> None:
    checks = submission_checks(
        customer=seeded.center.account("20000000099"),
        initiator=seeded.center.account(seeded.reseller),
        submitter=seeded.center.account(seeded.reseller),
        initiator_uin=seeded.reseller,
        open_application=None,
    )
    assert [failed.check for failed in checks] == [CheckName.RELATIONSHIP]


# ---- the unbinding record ----------------------------------------------------


def test_an_open_application_is_found_but_not_the_asking_one(seeded) -> None:
    center = seeded.center
    center.save_record(seeded.record("app-1", status=UnbindStatus.EXPIRED))
    assert center.open_application_for(seeded.customer, other_than="app-2") is None

    center.save_record(seeded.record("app-2", status=UnbindStatus.AWAITING_REMEDIATION))
    assert center.open_application_for(seeded.customer, other_than="app-2") is None
    assert center.open_application_for(seeded.customer, other_than="app-3") == "app-2"


def test_a_late_retry_of_an_older_record_never_overwrites_a_newer_one(seeded) -> None:
    center = seeded.center
    deadline = datetime(2025, 3, 11, 17, 30, tzinfo=timezone(timedelta(hours=8)))
    newer = seeded.record(
        revision=3,
        status=UnbindStatus.AWAITING_REMEDIATION,
        failed_checks=[FailedCheck(check=CheckName.CREDIT, hint="allocate credit")],
        deadline=deadline,
    )
    center.save_record(seeded.record(revision=1))
    center.save_record(newer)
    center.save_record(newer)
    center.save_record(seeded.record(revision=2, status=UnbindStatus.PENDING_CARD_BINDING))

    assert center.count("unbinding_records") == 1
    [stored] = center.records(seeded.customer)
    assert stored == newer
    assert stored.deadline is not None and stored.deadline.tzinfo is UTC
    assert stored.deadline == deadline

    completed = seeded.record(revision=4, status=UnbindStatus.COMPLETED, deadline=None)
    center.save_record(completed)
    assert center.records() == [completed]


def test_the_initiator_of_each_open_application_comes_from_its_record(seeded) -> None:
    """The worklist's initiator: the customer in its own request, the reseller
    otherwise; a closed application and an unknown workflow have none."""
    center = seeded.center
    own_request = seeded.record(
        "app-own",
        status=UnbindStatus.AWAITING_REMEDIATION,
        initiator_uin=seeded.customer,
        requested_by=Requester.CUSTOMER,
    )
    center.save_record(own_request)
    other_workflow = f"unbind-{seeded.second_level_customer}"
    center.save_record(
        seeded.record(
            "app-closed",
            workflow_id=other_workflow,
            customer_uin=seeded.second_level_customer,
            status=UnbindStatus.WITHDRAWN,
        )
    )
    asked = [own_request.workflow_id, other_workflow, "unbind-nobody", own_request.workflow_id]
    assert center.initiators(asked) == {own_request.workflow_id: seeded.customer}
    assert center.initiators([]) == {}

    center.save_record(
        seeded.record(
            "app-again",
            workflow_id=other_workflow,
            customer_uin=seeded.second_level_customer,
            initiator_uin=seeded.second_level_reseller,
        )
    )
    assert center.initiators(asked) == {
        own_request.workflow_id: seeded.customer,
        other_workflow: seeded.second_level_reseller,
    }


# ---- the inbox ---------------------------------------------------------------


def test_a_notification_delivered_twice_reaches_each_recipient_once(seeded) -> None:
    center = seeded.center
    message = seeded.notification(recipients=(seeded.customer, seeded.reseller, seeded.customer))

    assert center.deliver(message) == 2
    assert center.deliver(message) == 0
    assert center.count("inbox", recipient_uin=seeded.customer) == 1
    assert center.count("inbox", recipient_uin=seeded.reseller) == 1

    reminder = seeded.notification("reminder", at=seeded.submitted_at + timedelta(days=7))
    assert center.deliver(reminder) == 2
    events = [(m["event"], m["at"]) for m in center.inbox(seeded.customer)]
    assert events == [
        ("customer_confirmation_requested", "2025-03-01T09:00:00+00:00"),
        ("reminder", "2025-03-08T09:00:00+00:00"),
    ]


# ---- the cutover -------------------------------------------------------------


def test_cutting_over_twice_cuts_over_once(seeded) -> None:
    center = seeded.center
    agreement_id = center.show(seeded.customer)["agreement"]["id"]
    before = datetime.now(UTC)

    first = center.cut_over(seeded.cutover())
    second = center.cut_over(seeded.cutover())

    assert second == first
    assert first.agreement_id == agreement_id
    assert before <= first.effective_at <= datetime.now(UTC)
    assert center.cutover_for("app-00000001") == first
    assert center.count("cutovers") == 1
    assert center.count("agreements", state="invalidated") == 1
    assert center.count("agreements", customer_uin=seeded.customer, state="active") == 0

    shown = center.show(seeded.customer)
    assert shown["partner"] is None  # a direct customer of the provider now
    assert shown["agreement"]["state"] == "invalidated"
    assert datetime.fromisoformat(shown["agreement"]["invalidated_at"]) == first.effective_at
    snapshot = center.account(seeded.customer)
    assert snapshot is not None
    assert (snapshot.partner_uin, snapshot.agreement_id) == (None, agreement_id)


def test_cutting_over_a_customer_bound_elsewhere_is_a_conflict(seeded) -> None:
    center = seeded.center
    first = center.cut_over(seeded.cutover("app-1"))
    center.add_customer(seeded.customer, partner_uin=seeded.other_reseller)

    with pytest.raises(RelationshipConflict, match=seeded.other_reseller) as conflict:
        center.cut_over(seeded.cutover("app-2"))
    assert seeded.reseller in str(conflict.value)

    # A late retry of the first cutover returns its result and leaves the new binding alone.
    assert center.cut_over(seeded.cutover("app-1")) == first
    assert center.show(seeded.customer)["partner"]["uin"] == seeded.other_reseller
    assert center.count("cutovers") == 1


def test_cutting_over_an_unbound_customer_is_a_conflict(seeded) -> None:
    with pytest.raises(RelationshipConflict, match="no partner"):
        seeded.center.cut_over(
            CutoverRequest(
                application_id="app-1",
                customer_uin="20000000099",
                reseller_uin=seeded.reseller,
            )
        )


# ---- the ending written by the cutover (issue 12) ------------------------------


def with_ending(seeded, application_id: str, *, revision: int) -> CutoverRequest:
    """The cutover of ``application_id`` as a workflow sends it: its record
    CUTTING_OVER at ``revision`` - 1 first, its ending (COMPLETED, one message
    whose text the cutover renders) at ``revision``."""
    return seeded.cutover(application_id).model_copy(
        update={
            "outbox": Outbox(
                record=seeded.record(application_id, revision=revision - 1, status=S.CUTTING_OVER)
            ),
            "ending": Outbox(
                record=seeded.record(application_id, revision=revision, status=S.COMPLETED),
                notifications=[
                    seeded.notification("completed", application_id=application_id).model_copy(
                        update={"subject": "", "body": ""}
                    )
                ],
            ),
        }
    )


def completions(center: SqlPartnerCenter, uin: str) -> list[dict]:
    return [m for m in center.inbox(uin) if m["event"] == "completed"]


def test_a_cutover_writes_the_ending_in_its_own_transaction(seeded) -> None:
    center = seeded.center
    request = with_ending(seeded, "app-1", revision=5)

    cut = center.cut_over(request)

    [record] = center.records(seeded.customer)
    assert (record.status, record.revision) == (S.COMPLETED, 5)
    assert record.effective_at == cut.effective_at
    expected = texts.outcome(
        S.COMPLETED,
        customer_uin=seeded.customer,
        reseller_uin=seeded.reseller,
        effective_at=record.effective_at,
        reason=None,
    )
    for uin in (seeded.customer, seeded.reseller):
        [message] = completions(center, uin)
        assert (message["subject"], message["body"]) == (expected.subject, expected.body)

    # A retry after that commit (the worker died before reporting it) reports
    # the same cutover: the record closed by its own ending does not refuse it.
    assert center.cut_over(request) == cut
    assert center.count("cutovers") == 1
    assert len(completions(center, seeded.customer)) == 1
    assert center.records(seeded.customer) == [record]


def test_a_refused_cutover_writes_its_outbox_but_no_ending(seeded) -> None:
    center = seeded.center
    # Sent by a reseller the customer is not bound to.
    request = with_ending(seeded, "app-1", revision=5)
    foreign = request.model_copy(update={"reseller_uin": seeded.other_reseller})

    with pytest.raises(RelationshipConflict):
        center.cut_over(foreign)

    [record] = center.records(seeded.customer)
    assert (record.status, record.revision, record.effective_at) == (S.CUTTING_OVER, 4, None)
    assert completions(center, seeded.customer) == []


def test_another_run_of_a_completed_application_is_refused_despite_its_ending(seeded) -> None:
    center = seeded.center
    center.cut_over(with_ending(seeded, "app-1", revision=5))
    center.add_customer(seeded.customer, partner_uin=seeded.reseller)  # bound again later

    with pytest.raises(ApplicationClosed, match="closed as COMPLETED"):
        center.cut_over(with_ending(seeded, "app-1", revision=7))

    assert center.count("cutovers") == 1
    assert center.show(seeded.customer)["partner"]["uin"] == seeded.reseller


# ---- many writers at once ------------------------------------------------------


def run_in_threads(count: int, work: Callable[[int], object]) -> list[object]:
    """Start ``count`` threads together; re-raise the first failure."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def test_eight_workers_writing_at_once_all_succeed(seeded, database_url: str) -> None:
    # Half the threads use a second engine, as a second process would.
    with SqlPartnerCenter(database_url) as other_process:

        def work(index: int) -> None:
            center = seeded.center if index % 2 else other_process
            for round_ in range(5):
                center.deliver(seeded.notification(f"event-{round_}"))
                center.deliver(seeded.notification(f"event-{index}-{round_}"))
                center.save_record(seeded.record(f"app-{index}", revision=round_ + 1))
                center.save_record(seeded.record("app-shared", revision=index * 5 + round_ + 1))

        run_in_threads(8, work)

    center = seeded.center
    assert center.count("inbox") == 2 * (5 + 8 * 5)
    assert center.count("unbinding_records") == 9
    assert {r.application_id: r.revision for r in center.records()}["app-shared"] == 40


def test_concurrent_retries_of_one_cutover_agree(seeded, database_url: str) -> None:
    with SqlPartnerCenter(database_url) as other_process:
        results = run_in_threads(
            8,
            lambda index: (seeded.center if index % 2 else other_process).cut_over(
                seeded.cutover()
            ),
        )

    assert len(set(results)) == 1
    assert seeded.center.count("cutovers") == 1
    assert seeded.center.count("agreements", state="invalidated") == 1


def test_discounts_are_listed_until_the_cutover(partner_center: SqlPartnerCenter) -> None:
    """The cutover plan's "discounts that end" (issue 13, item 5) and the
    ``active_discounts`` check (item 1) come from the one ``discounts`` table."""
    partner_center.add_partner("10000000002", kind=PartnerKind.RESELLER)
    partner_center.add_customer("20000000001", partner_uin="10000000002")
    partner_center.add_discount("20000000001", "Compute 20% off")
    partner_center.add_discount("20000000001", "Compute 20% off")  # a repeat changes nothing
    partner_center.add_discount("20000000001", "CDN 5% off")
    assert partner_center.discounts("20000000001") == ("CDN 5% off", "Compute 20% off")
    assert partner_center.show("20000000001")["discounts"] == ["CDN 5% off", "Compute 20% off"]
    assert partner_center.account("20000000001").active_discounts == 2  # type: ignore[union-attr]
    partner_center.end_discount("20000000001", "CDN 5% off")
    partner_center.end_discount("20000000001", "CDN 5% off")  # a repeat changes nothing
    # Deactivated, it no longer fails the check, and the plan still lists it as ending.
    assert partner_center.account("20000000001").active_discounts == 1  # type: ignore[union-attr]
    assert partner_center.discounts("20000000001") == ("CDN 5% off", "Compute 20% off")
    shown = partner_center.show("20000000001")
    assert (shown["discounts"], shown["ended_discounts"]) == (["Compute 20% off"], ["CDN 5% off"])
    partner_center.add_discount("20000000001", "CDN 5% off")  # granted again: active
    assert partner_center.account("20000000001").active_discounts == 2  # type: ignore[union-attr]
    with pytest.raises(UnknownAccount):
        partner_center.add_discount("20000000999", "x")


def test_a_record_keeps_who_asked_and_the_plan(partner_center: SqlPartnerCenter) -> None:
    plan = CutoverPlan(
        effective=Effective.END_OF_MONTH,
        effective_on=datetime(2026, 12, 1, tzinfo=UTC),
        discounts_ending=("Compute 20% off",),
        delayed_bills="delayed bills stay with the reseller",
    )
    record = UnbindingRecord(
        application_id="app-00000001",
        workflow_id="unbind-20000000001",
        revision=1,
        customer_uin="20000000001",
        initiator_uin="20000000001",
        reseller_uin="10000000002",
        distributor_uin=None,
        status=UnbindStatus.AWAITING_EFFECTIVE_DATE,
        submitted_at=datetime(2026, 11, 29, tzinfo=UTC),
        notice_acknowledged_by="20000000001",
        notice_acknowledged_at=datetime(2026, 11, 29, tzinfo=UTC),
        requested_by=Requester.CUSTOMER,
        plan=plan,
        updated_at=datetime(2026, 11, 29, tzinfo=UTC),
    )
    partner_center.save_record(record)
    assert partner_center.record_of("app-00000001") == record


def test_a_cutover_at_the_end_of_the_month_is_billed_from_its_date(seeded) -> None:
    """Issue 13, item 5: the boundary is never before the effective date; a
    cutover that comes late (a remediation) is billed from its commit."""
    center = seeded.center
    date = datetime.now(UTC) + timedelta(days=2)
    request = seeded.cutover().model_copy(update={"not_before": date})
    assert center.cut_over(request).effective_at == date
    assert center.cutover_for("app-00000001").effective_at == date  # type: ignore[union-attr]


async def test_two_standing_changes_at_once_both_stay(seeded, database_url: str) -> None:
    """Two operators' ``ledger set`` on one account, different columns, at once:
    neither undoes the other. The second writes while the first holds the row
    (PostgreSQL: it waits on the row lock, having begun under read committed;
    SQLite: it waits for the write lock before it begins)."""
    uin = seeded.customer
    engine = create_engine(database_url)
    second: asyncio.Task[None] | None = None
    try:
        with write_transaction(engine) as first:
            set_standing_in(first, uin, {"overdue_bills": 5})
            second = asyncio.create_task(
                asyncio.to_thread(seeded.center.set_account, uin, info_complete=False)
            )
            if engine.dialect.name == "postgresql":
                await eventually(lambda: waiting_on_a_lock(engine), bool)
    finally:
        if second is not None:
            await second
        engine.dispose()

    standing = seeded.center.account(uin)
    assert standing is not None
    assert (standing.overdue_bills, standing.info_complete) == (5, False)


async def waiting_on_a_lock(engine: Engine) -> bool:
    def ask() -> bool:
        with engine.connect() as conn:
            query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            return bool(conn.exec_driver_sql(query).scalar())

    return await asyncio.to_thread(ask)


def test_an_applications_evidence_holds_the_refusals_of_its_own_period(seeded) -> None:
    """Refused attempts about the customer from the application's submission
    until the customer's next one: a later application's are that one's."""
    center = seeded.center
    first = seeded.record("app-first", status=UnbindStatus.WITHDRAWN)
    later = seeded.submitted_at + timedelta(days=2)
    second = seeded.record("app-second").model_copy(
        update={"submitted_at": later, "updated_at": later}
    )
    center.save_record(first)
    center.save_record(second)
    for at, who in (
        (seeded.submitted_at - timedelta(hours=1), "before-both"),
        (seeded.submitted_at + timedelta(hours=1), "during-first"),
        (later + timedelta(hours=1), "during-second"),
    ):
        center.record_refusal(
            principal=who,
            method="POST",
            path=f"/applications/{seeded.customer}/confirm",
            status_code=403,
            reason="not a party",
            customer_uin=seeded.customer,
            at=at,
        )

    def refused_by(application_id: str) -> list[str]:
        found = center.evidence_of(seeded.customer, application_id)
        assert found is not None
        return [r["principal"] for r in found["refusals"]]

    assert refused_by("app-first") == ["during-first"]
    assert refused_by("app-second") == ["during-second"]


def test_a_snapshot_reads_one_state_of_the_ledger(seeded, database_url: str) -> None:
    """An activity's several reads see one state, whatever commits meanwhile
    (the final check's account and its card, the plan's discounts)."""
    center, uin = seeded.center, seeded.customer
    with SqlPartnerCenter(database_url) as other_process:
        with center.snapshot():
            before = center.account(uin)
            other_process.set_account(uin, card_bound=not before.card_bound)
            during = center.account(uin)
        after = center.account(uin)

    assert during.card_bound == before.card_bound
    assert after.card_bound != before.card_bound
