"""An application id sent twice (a raw start, a backend retrying a submission
that already finished) is harmless: every effect belongs to one application of
one customer, and a finished application never runs again."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, MetaData, Table, UniqueConstraint, create_engine, inspect
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.partner_center import RelationshipConflict
from activities.sql import SqlPartnerCenter
from activities.sql.migrations.upgrade import baseline_metadata, upgrade
from activities.unbinding import UnbindingActivities
from tests.activities.conftest import SeededLedger
from workflows.model import (
    CheckName,
    CutoverRequest,
    CutoverResult,
    Notification,
    PrecheckRequest,
    UnbindStatus,
)

S = UnbindStatus
SHARED_ID = "app-shared-0001"
NEIGHBOUR = "20000000002"
"""A second healthy customer of the reseller, with its own workflow id."""


@pytest.fixture
def neighbour(seeded: SeededLedger) -> str:
    seeded.center.add_customer(NEIGHBOUR, partner_uin=seeded.reseller, card=True)
    return NEIGHBOUR


def cut_over_in_run(seeded: SeededLedger, run_id: str) -> CutoverResult:
    """The cutover activity for ``SHARED_ID``, as the workflow run ``run_id`` calls it."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_run_id=run_id)
    return env.run(UnbindingActivities(seeded.center).cut_over, seeded.cutover(SHARED_ID))


def cut_over_once(seeded: SeededLedger) -> CutoverResult:
    """``SHARED_ID`` recorded as cutting over for ``seeded``'s customer, and cut
    over by its run ``run-1``."""
    seeded.center.save_record(seeded.record(SHARED_ID, revision=5, status=S.CUTTING_OVER))
    return cut_over_in_run(seeded, "run-1")


def bound_to(seeded: SeededLedger, customer: str) -> str | None:
    partner = seeded.center.show(customer)["partner"]
    return None if partner is None else str(partner["uin"])


# ---- the cutover ---------------------------------------------------------------


def test_a_reused_id_never_reports_another_customers_cutover(
    seeded: SeededLedger, neighbour: str
) -> None:
    center = seeded.center
    first = center.cut_over(seeded.cutover(SHARED_ID))

    with pytest.raises(RelationshipConflict, match=SHARED_ID):
        center.cut_over(
            CutoverRequest(
                application_id=SHARED_ID, customer_uin=neighbour, reseller_uin=seeded.reseller
            )
        )

    assert bound_to(seeded, neighbour) == seeded.reseller
    assert center.cutover_for(SHARED_ID) == first
    assert center.count("cutovers") == 1


def test_a_finished_application_run_again_for_its_customer_is_refused(
    seeded: SeededLedger,
) -> None:
    center = seeded.center
    cut_over_once(seeded)
    center.save_record(seeded.record(SHARED_ID, revision=6, status=S.COMPLETED))
    center.add_customer(seeded.customer, partner_uin=seeded.reseller)  # bound again later

    with pytest.raises(ApplicationError, match=SHARED_ID) as refused:
        cut_over_in_run(seeded, "run-2")

    assert refused.value.type == "RelationshipConflict" and refused.value.non_retryable
    assert bound_to(seeded, seeded.customer) == seeded.reseller
    assert center.count("cutovers") == 1


def test_a_retry_of_a_committed_cutover_succeeds_while_the_application_is_open(
    seeded: SeededLedger,
) -> None:
    center = seeded.center
    first = cut_over_once(seeded)
    assert cut_over_in_run(seeded, "run-1") == first
    assert center.cutover_for(SHARED_ID) == first

    # Once the workflow has closed the record the activity has long completed:
    # an attempt still in flight is refused, and its answer goes nowhere.
    center.save_record(seeded.record(SHARED_ID, revision=6, status=S.COMPLETED))
    with pytest.raises(ApplicationError, match="closed as COMPLETED"):
        cut_over_in_run(seeded, "run-1")
    assert center.cutover_for(SHARED_ID) == first
    assert center.count("cutovers") == 1


# ---- the inbox and the record ----------------------------------------------------


def test_a_reused_id_still_reaches_the_parties_of_the_other_customer(
    seeded: SeededLedger, neighbour: str
) -> None:
    center = seeded.center
    first = seeded.notification("submitted", application_id=SHARED_ID)
    second = first.model_copy(
        update={"workflow_id": f"unbind-{neighbour}", "recipients": (neighbour, seeded.reseller)}
    )

    assert center.deliver(first) == 2
    assert center.deliver(second) == 2
    assert center.deliver(second) == 0
    assert [m["workflow_id"] for m in center.inbox(seeded.reseller)] == [
        f"unbind-{seeded.customer}",
        f"unbind-{neighbour}",
    ]


def test_a_reused_id_never_overwrites_another_customers_record(
    seeded: SeededLedger, neighbour: str
) -> None:
    center = seeded.center
    mine = seeded.record(SHARED_ID, revision=3)
    center.save_record(mine)

    center.save_record(
        seeded.record(
            SHARED_ID, revision=9, customer_uin=neighbour, workflow_id=f"unbind-{neighbour}"
        )
    )

    assert center.records() == [mine]


def test_a_closed_record_is_never_reopened(seeded: SeededLedger) -> None:
    center = seeded.center
    completed = seeded.record(SHARED_ID, revision=6, status=S.COMPLETED)
    center.save_record(completed)

    center.save_record(seeded.record(SHARED_ID, revision=7, status=S.PENDING_CARD_BINDING))
    assert center.records() == [completed]
    # The workflow may still write its ending again (a cancel after the end).
    again = seeded.record(SHARED_ID, revision=7, status=S.COMPLETED)
    center.save_record(again)
    assert center.records() == [again]


# ---- refused at submission ---------------------------------------------------------


def submit(seeded: SeededLedger, customer: str) -> set[CheckName]:
    result = ActivityEnvironment().run(
        UnbindingActivities(seeded.center).check_application,
        PrecheckRequest(
            application_id=SHARED_ID,
            customer_uin=customer,
            initiator_uin=seeded.reseller,
            submitter_uin=seeded.reseller,
        ),
    )
    return {failed.check for failed in result.failed_checks}


def test_an_id_in_use_for_another_customer_is_refused_at_submission(
    seeded: SeededLedger, neighbour: str
) -> None:
    assert submit(seeded, neighbour) == set()
    seeded.center.save_record(seeded.record(SHARED_ID))

    assert submit(seeded, neighbour) == {CheckName.OPEN_APPLICATION}


def test_a_finished_application_submitted_again_is_refused(seeded: SeededLedger) -> None:
    seeded.center.save_record(seeded.record(SHARED_ID, revision=4, status=S.WITHDRAWN))

    assert submit(seeded, seeded.customer) == {CheckName.OPEN_APPLICATION}


# ---- a database made by older code -----------------------------------------------


def test_a_database_made_by_older_code_is_adopted_and_dedupes_per_workflow(
    empty_database_url: str,
) -> None:
    """Older still than the baseline: the inbox had a coarse key and no
    per-workflow index. ``unbind db upgrade`` adds what the code before
    migrations added at start-up, then stamps it."""
    database_url = empty_database_url
    baseline = baseline_metadata()
    older = MetaData()
    for table in baseline.sorted_tables:
        if table.name != "inbox":
            table.to_metadata(older)
    inbox = baseline.tables["inbox"]
    Table(
        "inbox",
        older,
        *(
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in inbox.columns
        ),
        UniqueConstraint("application_id", "event", "recipient_uin", name="one_message_per_event"),
    )
    engine = create_engine(database_url)
    older.create_all(engine)
    engine.dispose()

    assert upgrade(database_url).adopted
    with SqlPartnerCenter(database_url) as center:
        first = Notification(
            application_id=SHARED_ID,
            workflow_id="unbind-20000000001",
            event="submitted",
            recipients=("10000000002",),
            subject="Submitted",
            body="An application was submitted.",
            at=datetime(2025, 3, 1, tzinfo=UTC),
        )
        second = first.model_copy(update={"workflow_id": "unbind-20000000002"})
        assert center.deliver(first) == 1
        assert center.deliver(first) == 0
        # PostgreSQL drops the old key; an older SQLite file keeps it (migrations/upgrade.py).
        expected = 1 if center.url.startswith("postgresql") else 0
        assert center.deliver(second) == expected

        engine = create_engine(database_url)
        indexes = {index["name"] for index in inspect(engine).get_indexes("inbox")}
        engine.dispose()
        assert "one_message_per_event_of_a_workflow" in indexes
