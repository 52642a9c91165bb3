"""The fault suite's verdicts can fail: an effect doubled or missing in the
database, an action taken twice, a wrong outcome or an open run is caught.
(The suite itself runs with ``make chaos``; this needs no server.)"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus

from activities.sql import SqlPartnerCenter
from chaos.plans import PATHS, Application, set_up_applications
from chaos.settings import ChaosSettings
from chaos.verify import verify
from workflows.contract import workflow_id_for
from workflows.model import (
    CutoverRequest,
    Deadlines,
    Notification,
    TimelineEntry,
    UnbindingRecord,
    UnbindingState,
)

SETTINGS = ChaosSettings()
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
COMPLETED = WorkflowExecutionStatus.COMPLETED


@pytest.fixture
def pc(tmp_path: Path) -> Iterator[SqlPartnerCenter]:
    center = SqlPartnerCenter(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield center
    center.dispose()


@pytest.fixture
def applications(pc: SqlPartnerCenter) -> dict[str, Application]:
    """One application per path, by path name."""
    made = set_up_applications(pc, count=len(PATHS), rng=random.Random(1))
    return {a.plan.name: a for a in made}


def leave_every_effect(
    pc: SqlPartnerCenter,
    application: Application,
    *,
    cut_over: bool = True,
    skip_event: str | None = None,
) -> UnbindingState:
    """What a correct run of the application's path leaves: its record, its
    cutover, its messages, one accepted timeline entry per action."""
    workflow_id = workflow_id_for(application.customer)
    # In the workflow's order: the cutover refuses once the record is closed.
    if application.expected_cutovers and cut_over:
        pc.cut_over(
            CutoverRequest(
                application_id=application.application_id,
                customer_uin=application.customer,
                reseller_uin=application.initiator,
            )
        )
    if application.expected_records:
        pc.save_record(
            UnbindingRecord(
                application_id=application.application_id,
                workflow_id=workflow_id,
                revision=1,
                customer_uin=application.customer,
                initiator_uin=application.initiator,
                reseller_uin=application.initiator,
                distributor_uin=application.distributor,
                status=application.plan.outcome,
                submitted_at=NOW,
                notice_acknowledged_by=application.initiator,
                notice_acknowledged_at=NOW,
                updated_at=NOW,
            )
        )
    for (event, uin), count in application.expected_inbox(SETTINGS).items():
        if event == skip_event:
            continue
        for copy in range(count):
            deliver(pc, application, f"{event}:{copy}" if count > 1 else event, uin)
    application.action_ids = [f"{application.application_id}-{i}" for i in range(2)]
    return UnbindingState(
        application_id=application.application_id,
        workflow_id=workflow_id,
        status=application.plan.outcome,
        customer_uin=application.customer,
        initiator_uin=application.initiator,
        submitter_uin=application.initiator,
        submitted_at=NOW,
        notice_acknowledged_by=application.initiator,
        notice_acknowledged_at=NOW,
        deadlines=Deadlines(),
        timeline=[accepted(action_id) for action_id in application.action_ids],
    )


def deliver(pc: SqlPartnerCenter, application: Application, event: str, uin: str) -> None:
    pc.deliver(
        Notification(
            application_id=application.application_id,
            workflow_id=workflow_id_for(application.customer),
            event=event,
            recipients=(uin,),
            subject="s",
            body="b",
            at=NOW,
        )
    )


def accepted(action_id: str) -> TimelineEntry:
    return TimelineEntry(
        at=NOW, actor="operator:x", action="recheck", accepted=True, action_id=action_id
    )


@pytest.mark.parametrize("path", [p.name for p in PATHS])
def test_every_path_passes_with_exactly_its_effects(
    pc: SqlPartnerCenter, applications: dict[str, Application], path: str
) -> None:
    application = applications[path]
    state = leave_every_effect(pc, application)
    verdict = verify(application, state, COMPLETED, pc, SETTINGS)
    assert verdict.as_expected, verdict


def test_a_message_sent_twice_under_another_key_is_a_duplicate(
    pc: SqlPartnerCenter, applications: dict[str, Application]
) -> None:
    application = applications["direct, remediation, operator recheck"]
    state = leave_every_effect(pc, application)
    deliver(pc, application, "final_check_failed:9", application.initiator)
    verdict = verify(application, state, COMPLETED, pc, SETTINGS)
    assert verdict.duplicate_count == 1 and not verdict.lost


def test_a_missing_cutover_and_a_missing_message_are_lost(
    pc: SqlPartnerCenter, applications: dict[str, Application]
) -> None:
    application = applications["direct, card bound"]
    state = leave_every_effect(pc, application, cut_over=False, skip_event="completed")
    verdict = verify(application, state, COMPLETED, pc, SETTINGS)
    lost = "\n".join(verdict.lost)
    assert "cutovers: 0 instead of 1" in lost
    assert "agreement invalidations: 0 instead of 1" in lost
    assert f"message completed to {application.customer}: 0 instead of 1" in lost
    assert "customer still bound" in lost
    assert not verdict.duplicated


def test_an_action_accepted_twice_is_a_duplicate_and_one_never_accepted_is_lost(
    pc: SqlPartnerCenter, applications: dict[str, Application]
) -> None:
    application = applications["second-level, card binding"]
    state = leave_every_effect(pc, application)
    first, second = application.action_ids
    state.timeline = [accepted(first), accepted(first)]
    verdict = verify(application, state, COMPLETED, pc, SETTINGS)
    assert verdict.duplicate_count == 1
    assert any(second in lost for lost in verdict.lost)


def test_a_wrong_outcome_a_failed_run_and_an_open_run_are_caught(
    pc: SqlPartnerCenter, applications: dict[str, Application]
) -> None:
    application = applications["direct, customer rejects"]
    state = leave_every_effect(pc, application)
    wrong = state.model_copy(update={"status": "WITHDRAWN"})
    assert verify(application, wrong, COMPLETED, pc, SETTINGS).lost
    failed = verify(application, None, WorkflowExecutionStatus.FAILED, pc, SETTINGS)
    assert failed.lost and not failed.stuck
    assert verify(application, None, WorkflowExecutionStatus.RUNNING, pc, SETTINGS).stuck


def test_a_message_to_the_wrong_recipient_is_caught_though_the_count_is_right(
    pc: SqlPartnerCenter, applications: dict[str, Application]
) -> None:
    application = applications["direct, card bound"]
    state = leave_every_effect(pc, application, skip_event="completed")
    stranger = "98765432109"
    for uin in (application.initiator, stranger):
        deliver(pc, application, "completed", uin)
    verdict = verify(application, state, COMPLETED, pc, SETTINGS)
    assert f"message completed to {application.customer}: 0 instead of 1" in verdict.lost
    assert f"message completed to {stranger}: not in the plan" in verdict.duplicated


def test_two_reminders_at_the_same_offset_are_not_the_two_the_plan_owes(
    pc: SqlPartnerCenter, applications: dict[str, Application]
) -> None:
    application = applications["second-level, expires after reminders"]
    early, late = (f"reminder:PENDING_CUSTOMER_CONFIRMATION:{s}s" for s in (55, 35))
    assert {early, late} <= {event for event, _ in application.expected_inbox(SETTINGS)}
    state = leave_every_effect(pc, application, skip_event=late)
    deliver(
        pc, application, "reminder:PENDING_CUSTOMER_CONFIRMATION:55s-again", application.customer
    )
    verdict = verify(application, state, COMPLETED, pc, SETTINGS)
    assert f"message {late} to {application.customer}: 0 instead of 1" in verdict.lost
    assert verdict.duplicate_count == 1
