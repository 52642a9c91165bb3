"""``python worker.py`` with ``UNBIND_LOG_FORMAT=json``: every line it writes
is a JSON object naming the workflow, run, activity and application it comes
from, and none carries a key or a signature. Text stays the default."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.devstack.ports import free_port
from starter.signing import signing
from tests.conftest import Ledger
from tests.observability.scrape import scrape
from tests.worker_process import ROOT, spawn_worker
from tests.workflows.signing_keys import NEW_ENTRY, ROTATING
from workflows.model import UnbindStatus
from workflows.signing import Signer

FIELDS = {
    "time",
    "level",
    "logger",
    "message",
    "exception",
    "workflow_id",
    "run_id",
    "workflow_type",
    "activity_type",
    "activity_id",
    "application_id",
}


class RecordingSigner(Signer):
    """Signs as the API does, and remembers each signature it made."""

    made: list[str] = []  # noqa: RUF012 (shared on purpose: the signer is frozen)

    def signature(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        signed = super().signature(*args, **kwargs)
        self.made.append(signed["sig"])
        return signed


async def _line_with(process: asyncio.subprocess.Process, text: str, seen: list[str]) -> None:
    assert process.stdout is not None
    while True:
        raw = await process.stdout.readline()
        if not raw:
            raise AssertionError(f"the worker ended before saying {text!r}:\n" + "".join(seen))
        seen.append(raw.decode())
        if text in seen[-1]:
            return


@pytest.mark.integration
async def test_a_worker_writes_json_lines_with_its_context_and_no_secret(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    database_url: str,
) -> None:
    task_queue = f"logs-{uuid.uuid4().hex}"
    address = f"127.0.0.1:{free_port()}"
    process = await spawn_worker(
        dev_env,
        task_queue=task_queue,
        database_url=database_url,
        UNBIND_LOG_FORMAT="json",
        UNBIND_METRICS_ADDRESS=address,
        UNBIND_REQUIRE_SIGNED_ACTIONS="1",
        UNBIND_ACTION_SIGNING_KEYS=NEW_ENTRY,
    )
    seen: list[str] = []
    try:
        await asyncio.wait_for(_line_with(process, "worker polling", seen), timeout=60)
        parties = ledger.direct()
        signer = RecordingSigner(ROTATING)
        client = UnbindingClient(signing(dev_env.client, signer), task_queue=task_queue)
        submitted = await client.apply(
            customer_uin=parties.customer,
            initiator_uin=parties.reseller,
            notice_acknowledged=True,
        )
        confirmed = await client.confirm(
            parties.customer, actor=parties.customer, principal="auth0|customer-admin"
        )
        assert confirmed.status is UnbindStatus.COMPLETED
        metrics = await scrape(address)
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    output = "".join(seen) + rest.decode()
    assert process.returncode == 0, output

    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert all(isinstance(line, dict) and set(line) <= FIELDS for line in lines), output
    workflow_lines = [line for line in lines if line["logger"] == "temporalio.workflow"]
    activity_lines = [line for line in lines if line["logger"] == "temporalio.activity"]
    assert workflow_lines and activity_lines, output
    workflow_id, run_id = submitted.workflow_id, workflow_lines[0]["run_id"]
    assert all(
        line["workflow_id"] == workflow_id and line["run_id"] == run_id
        for line in workflow_lines + activity_lines
    )
    [record] = partner_center.records(parties.customer)
    assert {line.get("application_id") for line in workflow_lines} == {record.application_id}
    assert {line["activity_type"] for line in activity_lines} >= {
        "check_application",
        "commit",
        "cut_over",
    }
    assert all(
        line["application_id"] == record.application_id
        for line in activity_lines
        if line["activity_type"] in ("check_application", "commit", "cut_over")
    )

    secrets = [NEW_ENTRY.split(":", 1)[1], *signer.made]
    assert signer.made, "the actions were not signed"
    assert not [s for s in secrets if s in output]
    # The worker's own endpoint, configured from the environment, counted the run.
    assert metrics.value("unbinding_applications_ended_total", outcome="COMPLETED") == 1


LOG_ONE_LINE = """
import logging
from starter.logs import configure_logging
configure_logging()
logging.getLogger("starter.test").info("hello %s", "there", extra={"application_id": "app-1"})
"""


def run_python(*arguments: str, **variables: str | None) -> subprocess.CompletedProcess[str]:
    """``python arguments`` from the repository, with ``variables`` set (None: unset)."""
    env = {**os.environ, **variables}
    return subprocess.run(
        [sys.executable, *arguments],
        env={k: v for k, v in env.items() if v is not None},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("chosen", [None, "text", "json"])
def test_text_is_the_default_and_json_is_chosen(chosen: str | None) -> None:
    """In a process of its own: the choice is the whole process's logging."""
    done = run_python("-c", LOG_ONE_LINE, UNBIND_LOG_FORMAT=chosen)
    assert done.returncode == 0, done.stderr
    written = done.stderr.strip()
    if chosen == "json":
        line = json.loads(written)
        assert line["message"] == "hello there" and line["application_id"] == "app-1"
        assert line["logger"] == "starter.test" and line["level"] == "INFO"
    else:
        assert written.endswith("INFO starter.test hello there"), written


def test_a_wrong_log_format_stops_the_worker_naming_the_variable(tmp_path: Path) -> None:
    done = run_python(
        "worker.py",
        UNBIND_LOG_FORMAT="xml",
        UNBIND_DATABASE_URL=f"sqlite:///{tmp_path / 'pc.db'}",
    )
    assert done.returncode == 2, done
    assert "UNBIND_LOG_FORMAT" in done.stderr and "json" in done.stderr
    assert not (tmp_path / "pc.db").exists()
