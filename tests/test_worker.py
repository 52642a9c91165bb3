"""``python worker.py`` as operators run it: configured from the environment,
serving applications, and leaving cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from tests.conftest import Ledger
from workflows.model import UnbindStatus

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
async def test_worker_process_serves_applications_and_stops_gracefully(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    database_url: str,
    stop_with: signal.Signals,
) -> None:
    task_queue = f"worker-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": "default",
        "UNBIND_TASK_QUEUE": task_queue,
        "UNBIND_DATABASE_URL": database_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "worker.py"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
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
