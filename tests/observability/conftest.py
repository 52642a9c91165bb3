"""One live worker with a Prometheus endpoint plays a set of scenarios on the
dev server; the tests read what its endpoint says afterwards.

The worker keeps no workflow in its cache (``max_cached_workflows=0``), so
every workflow task replays the run's whole history first: any business
metric counted during replay would show up as a count above the number of
events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory
from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment

from activities.partner_center import AccountSnapshot
from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.connection import connect_client
from starter.devstack.ports import free_port
from starter.telemetry import Telemetry, metrics_runtime, report_applications_past_deadline
from tests.conftest import Ledger, eventually, fresh_database, running_worker
from tests.observability.scrape import Scrape, scrape
from workflows.contract import WORKFLOW_TYPE, workflow_id_for
from workflows.model import (
    Deadlines,
    Notification,
    Outbox,
    OverduePrivilege,
    UnbindingState,
    UnbindStatus,
)

S = UnbindStatus
# The shortest deadline an application may have; its reminder comes first.
SHORT_WAIT = Deadlines(
    customer_confirmation=timedelta(minutes=1), reminders_before=(timedelta(seconds=50),)
)
# The wait for that deadline, with room for a slow machine.
EXPIRY_WITHIN = 150.0


class FlakyInbox(SqlPartnerCenter):
    """The real partner center, whose first delivery and first account read
    fail as a database hiccup would: each activity (a server-side write, a
    local read) is retried, and the SDK counts the failure."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.failed = False
        self.read_failed = False

    def account(self, uin: str) -> AccountSnapshot | None:
        if not self.read_failed:
            self.read_failed = True
            raise ConnectionError("the accounts database went away (injected once)")
        return super().account(uin)

    def deliver(self, notification: Notification) -> int:
        if not self.failed:
            self.failed = True
            raise ConnectionError("the inbox database went away (injected once)")
        return super().deliver(notification)

    def commit(self, outbox: Outbox) -> int:
        if outbox.notifications and not self.failed:
            self.failed = True
            raise ConnectionError("the inbox database went away (injected once)")
        return super().commit(outbox)


@dataclass(frozen=True)
class Played:
    """What the scenarios did, and what the worker's endpoint said after."""

    address: str
    metrics: Scrape
    histories: list[WorkflowHistory]
    completed: int
    started: int


async def _histories(client: Client, customers: list[str]) -> list[WorkflowHistory]:
    return [await client.get_workflow_handle(workflow_id_for(c)).fetch_history() for c in customers]


@pytest.fixture(scope="package")
def observed_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with fresh_database(request, tmp_path_factory.mktemp("observed")) as url:
        yield url


@pytest_asyncio.fixture(scope="package")
async def played(
    dev_env: WorkflowEnvironment, observed_database: str, executor: ThreadPoolExecutor
) -> AsyncIterator[Played]:
    """Played once for the whole package (the expiry alone takes a minute)."""
    address = f"127.0.0.1:{free_port()}"
    runtime: Runtime = metrics_runtime(address)
    target = dev_env.client.service_client.config.target_host
    client = await connect_client(
        {"target_host": target, "namespace": "default"}, Telemetry(runtime=runtime)
    )
    partner_center = FlakyInbox(observed_database)
    ledger = Ledger(partner_center)
    task_queue = f"observe-{uuid.uuid4().hex}"
    api = UnbindingClient(dev_env.client, task_queue=task_queue)
    reporter = asyncio.create_task(
        report_applications_past_deadline(client, runtime, task_queue, every=timedelta(seconds=1))
    )
    try:
        async with running_worker(
            client, partner_center, executor, task_queue=task_queue, max_cached_workflows=0
        ):
            # Expires after its one reminder, while the others play.
            expiring = ledger.direct()
            await api.apply(
                customer_uin=expiring.customer,
                initiator_uin=expiring.reseller,
                notice_acknowledged=True,
                deadlines=SHORT_WAIT,
            )

            completed = ledger.direct()
            await api.apply(
                customer_uin=completed.customer,
                initiator_uin=completed.reseller,
                notice_acknowledged=True,
            )
            assert (await api.confirm(completed.customer, actor=completed.customer)).status is (
                S.COMPLETED
            )

            rejected = ledger.direct()
            await api.apply(
                customer_uin=rejected.customer,
                initiator_uin=rejected.reseller,
                notice_acknowledged=True,
            )
            refused = await api.confirm(rejected.customer, actor=rejected.reseller)
            assert not refused.accepted
            rejection = await api.reject(
                rejected.customer, actor=rejected.customer, reason="we stay with our reseller"
            )
            assert rejection.status is S.CUSTOMER_REJECTED

            remedied = ledger.direct()
            await api.apply(
                customer_uin=remedied.customer,
                initiator_uin=remedied.reseller,
                notice_acknowledged=True,
            )
            partner_center.set_account(
                remedied.customer, overdue_privilege=OverduePrivilege.POSTPAID
            )
            waiting = await api.confirm(remedied.customer, actor=remedied.customer)
            assert waiting.status is S.AWAITING_REMEDIATION
            partner_center.set_account(remedied.customer, overdue_privilege=OverduePrivilege.NONE)
            await api.recheck(remedied.customer, actor=remedied.reseller)
            handle = dev_env.client.get_workflow_handle(
                workflow_id_for(remedied.customer), result_type=UnbindingState
            )
            assert (await handle.result()).status is S.COMPLETED

            # A workflow task that fails: a run of a type this worker build does
            # not know (a deploy that lost it) is retried until one that does polls.
            broken = await dev_env.client.start_workflow(
                f"{WORKFLOW_TYPE}FromAFutureBuild",
                {"customer_uin": "00000000000"},
                id=f"broken-{uuid.uuid4().hex}",
                task_queue=task_queue,
            )
            failing = await eventually(
                lambda: scrape(address),
                lambda s: s.value("temporal_workflow_task_execution_failed_total") > 0,
            )
            assert failing.value("temporal_workflow_task_execution_failed_total") > 0
            await broken.terminate("test over")
            # A malformed start fails its run at once, naming the field.
            malformed = await dev_env.client.start_workflow(
                WORKFLOW_TYPE,
                {"customer_uin": "not a uin"},
                id=f"malformed-{uuid.uuid4().hex}",
                task_queue=task_queue,
            )
            with pytest.raises(WorkflowFailureError):
                await malformed.result()

            expired = dev_env.client.get_workflow_handle(
                workflow_id_for(expiring.customer), result_type=UnbindingState
            )
            ended = await asyncio.wait_for(expired.result(), EXPIRY_WITHIN)
            assert ended.status is S.EXPIRED
            metrics = await eventually(
                lambda: scrape(address),
                lambda s: (
                    s.value("unbinding_applications_past_deadline") == 0
                    and s.value("unbinding_applications_ended_total") == 4
                    # The SDK counts a completion once the server took it.
                    and s.value("temporal_workflow_completed_total") == 4
                ),
            )
            customers = [expiring, completed, rejected, remedied]
            histories = await _histories(dev_env.client, [p.customer for p in customers])
            yield Played(address, metrics, histories, completed=2, started=4)
    finally:
        reporter.cancel()
        partner_center.dispose()
