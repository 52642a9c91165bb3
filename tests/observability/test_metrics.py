"""The worker's Prometheus endpoint after real scenarios on the dev server
(tests/observability/conftest.py): the SDK's metrics and the business
metrics, counted once each however often the worker replayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from starter.client import UnbindingClient
from starter.devstack.ports import free_port
from starter.telemetry import applications_past_deadline, metrics_runtime
from tests.conftest import Ledger, eventually
from tests.observability.conftest import SHORT_WAIT, Played
from tests.observability.scrape import scrape
from workflows.contract import DATA_CONVERTER
from workflows.unbinding import UnbindingWorkflow

pytestmark = pytest.mark.integration

CONFIRMATION = "PENDING_CUSTOMER_CONFIRMATION"


def test_applications_are_counted_once_each_by_outcome(played: Played) -> None:
    m = played.metrics
    assert m.value("unbinding_applications_started_total") == played.started
    assert m.value("unbinding_applications_ended_total", outcome="COMPLETED") == played.completed
    assert m.value("unbinding_applications_ended_total", outcome="CUSTOMER_REJECTED") == 1
    assert m.value("unbinding_applications_ended_total", outcome="EXPIRED") == 1
    assert m.value("unbinding_applications_ended_total") == played.started
    # Every one of those workflow tasks replayed its history first: the
    # worker kept nothing in its cache.
    assert m.value("temporal_sticky_cache_hit_total") == 0
    assert m.value("temporal_workflow_task_replay_latency_count") > played.started


def test_actions_are_counted_by_kind_and_answer(played: Played) -> None:
    m = played.metrics
    assert m.value("unbinding_actions_total", kind="confirm", answer="accepted") == 2
    # The reseller's confirmation, refused by the update's validator.
    assert m.value("unbinding_actions_total", kind="confirm", answer="refused") == 1
    assert m.value("unbinding_actions_total", kind="reject", answer="accepted") == 1
    assert m.value("unbinding_actions_total", kind="recheck", answer="accepted") == 1
    assert m.value("unbinding_rechecks_total", trigger="requested") == 1
    assert m.value("unbinding_rechecks_total", trigger="scheduled") == 0


def test_waits_reminders_and_deadlines_are_measured(played: Played) -> None:
    m = played.metrics
    # Each application waited for its customer once; one of them to the deadline.
    assert m.value("unbinding_wait_duration_seconds_count", wait=CONFIRMATION) == 4
    assert m.value("unbinding_wait_duration_seconds_count", wait="AWAITING_REMEDIATION") == 1
    waited = m.value("unbinding_wait_duration_seconds_sum", wait=CONFIRMATION)
    assert 60 <= waited < 60 + 4 * 60, waited  # the expired one alone waited a minute
    # Three were decided within seconds; the expired one waited its minute.
    bucket = "unbinding_wait_duration_seconds_bucket"
    assert m.value(bucket, wait=CONFIRMATION, le="10") == 3
    assert m.value(bucket, wait=CONFIRMATION, le="600") == 4
    assert m.value("unbinding_reminders_sent_total", wait=CONFIRMATION) == 1
    assert m.value("unbinding_deadlines_passed_total", wait=CONFIRMATION) == 1
    assert m.value("unbinding_applications_past_deadline") == 0


def test_the_sdk_counts_failed_workflow_tasks_and_activity_attempts(played: Played) -> None:
    m = played.metrics
    assert m.value("temporal_workflow_task_execution_failed_total") > 0
    # The inbox and an account read failed once each: one failed attempt of a
    # write and of a read, retried; nothing else failed.
    failed = "temporal_activity_execution_failed_total"
    assert m.value(failed, activity_type="commit") == 1
    assert m.value(failed, activity_type="check_application") == 1
    assert m.value(failed) == 2
    assert m.value("temporal_activity_schedule_to_start_latency_count") > 0
    assert m.value("temporal_workflow_completed_total") == played.started


async def test_replaying_the_histories_counts_nothing(played: Played) -> None:
    address = f"127.0.0.1:{free_port()}"
    replayer = Replayer(
        workflows=[UnbindingWorkflow],
        data_converter=DATA_CONVERTER,
        runtime=metrics_runtime(address),
    )
    for history in played.histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, result.replay_failure
    after = await scrape(address)
    business = {name for name in after.names if name.startswith("unbinding_")}
    assert business == set(), business


async def test_an_open_application_counts_as_past_its_deadline_once_it_passed(
    dev_env: WorkflowEnvironment, worker: Worker, ledger: Ledger
) -> None:
    """The query behind the gauge, against the dev server's visibility: an
    application waiting for a one-minute deadline is not past it now, and is
    (by more than the grace) ten minutes from now; other task queues' runs
    never count."""
    parties = ledger.direct()
    api = UnbindingClient(dev_env.client, task_queue=worker.task_queue)
    await api.apply(
        customer_uin=parties.customer,
        initiator_uin=parties.reseller,
        notice_acknowledged=True,
        deadlines=SHORT_WAIT,
    )
    now = datetime.now(UTC)
    later = now + timedelta(minutes=10)

    async def count_later() -> int:
        return await applications_past_deadline(dev_env.client, worker.task_queue, now=later)

    assert await eventually(count_later, lambda n: n == 1) == 1
    assert await applications_past_deadline(dev_env.client, worker.task_queue, now=now) == 0
    elsewhere = await applications_past_deadline(dev_env.client, "no-such-queue", now=later)
    assert elsewhere == 0
    await api.withdraw(parties.customer, actor=parties.reseller)
