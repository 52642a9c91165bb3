"""``python worker.py`` as operators run it: configured from the environment,
serving applications, and leaving cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from tests.conftest import Ledger
from tests.worker_process import spawn_worker
from workflows.model import UnbindStatus

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
async def test_worker_process_serves_applications_and_stops_gracefully(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    database_url: str,
    stop_with: signal.Signals,
) -> None:
    task_queue = f"worker-{uuid.uuid4().hex}"
    process = await spawn_worker(dev_env, task_queue=task_queue, database_url=database_url)
    try:
        parties = ledger.direct()
        client = UnbindingClient(dev_env.client, task_queue=task_queue)
        submitted = await client.apply(
            customer_uin=parties.customer,
            initiator_uin=parties.reseller,
            notice_acknowledged=True,
        )
        assert submitted.accepted and submitted.status is UnbindStatus.PENDING_CUSTOMER_CONFIRMATION
        confirmed = await client.confirm(parties.customer, actor=parties.customer)
        assert confirmed.status is UnbindStatus.COMPLETED
    finally:
        process.send_signal(stop_with)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, output.decode()
    assert b"shutting down" in output
    assert partner_center.show(parties.customer)["partner"] is None
