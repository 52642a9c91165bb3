"""``unbind apply-batch`` (issue 13, item 6) through the real CLI on the
Temporal dev server: one application per customer, a table of outcomes, a
bad file refused whole, and a batch interrupted by Ctrl-C resumed without
submitting anyone twice."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from starter.batch import application_id_for, batch_id_for
from starter.devstack.environment import isolated_environment
from tests.cli import start_unbind
from tests.conftest import Parties, fresh_uin
from tests.integration.conftest import Unbind, apply
from workflows.model import PartnerKind

pytestmark = pytest.mark.integration


def _customers(pc: SqlPartnerCenter, reseller: str, count: int) -> list[str]:
    customers = [fresh_uin() for _ in range(count)]
    for customer in customers:
        pc.add_customer(customer, partner_uin=reseller, card=True)
    return customers


def _file(tmp_path: Path, customers: list[str]) -> Path:
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_uin,reason\n" + "".join(f"{c},leaving the programme\n" for c in customers)
    )
    return path


def _reseller(pc: SqlPartnerCenter) -> str:
    reseller = fresh_uin()
    pc.add_partner(reseller, kind=PartnerKind.RESELLER)
    return reseller


async def test_a_batch_submits_each_customer_and_tells_each_outcome(
    partner_center: SqlPartnerCenter, unbind: Unbind, tmp_path: Path
) -> None:
    pc = partner_center
    reseller = _reseller(pc)
    healthy, owing, busy = _customers(pc, reseller, 3)
    pc.set_account(owing, overdue_bills=1)
    # An application of the reseller's is already open for one customer.
    assert (await apply(unbind, Parties(customer=busy, reseller=reseller))).code == 0
    path = _file(tmp_path, [healthy, owing, busy])

    first = await unbind(
        "apply-batch", "--file", str(path), "--initiator", reseller, "--acknowledge-notice"
    )

    assert first.code == 1, first
    batch = batch_id_for(reseller, [healthy, owing, busy])
    assert first.data["batch_id"] == batch and first.data["complete"] is True
    outcomes = {o["customer_uin"]: o for o in first.data["outcomes"]}
    assert [o["row"] for o in first.data["outcomes"]] == [2, 3, 4]
    assert outcomes[healthy]["outcome"] == "accepted"
    assert outcomes[healthy]["status"] == "PENDING_CUSTOMER_CONFIRMATION"
    assert outcomes[owing]["outcome"] == "refused"
    assert [c["check"] for c in outcomes[owing]["failed_checks"]] == ["overdue_bills"]
    assert outcomes[busy]["outcome"] == "conflict"
    assert [r.application_id for r in pc.records(healthy)] == [application_id_for(batch, healthy)]

    # The same file again: everyone is found, nobody submitted a second time.
    again = await unbind(
        "apply-batch", "--file", str(path), "--initiator", reseller, "--acknowledge-notice"
    )
    assert again.code == 1, again
    resumed = {o["customer_uin"]: o for o in again.data["outcomes"]}
    assert resumed[healthy]["resumed"] is True and resumed[healthy]["outcome"] == "accepted"
    assert resumed[owing]["resumed"] is True and resumed[owing]["outcome"] == "refused"
    assert [c["check"] for c in resumed[owing]["failed_checks"]] == ["overdue_bills"]
    assert len(pc.records(healthy)) == 1

    table = await unbind(
        "apply-batch",
        "--file",
        str(path),
        "--initiator",
        reseller,
        "--acknowledge-notice",
        json=False,
    )
    assert table.code == 1
    assert "overdue_bills" in table.stdout and "(from an earlier run)" in table.stdout
    assert f"batch {batch}: 3 of 3 customers: 1 accepted, 1 refused, 1 conflict" in table.stdout


async def test_a_bad_row_refuses_the_batch_and_submits_nobody(
    partner_center: SqlPartnerCenter, unbind: Unbind, tmp_path: Path
) -> None:
    reseller = _reseller(partner_center)
    [good] = _customers(partner_center, reseller, 1)
    path = tmp_path / "customers.csv"
    path.write_text(f"customer_uin\n{good}\n12x45\n")

    refused = await unbind(
        "apply-batch", "--file", str(path), "--initiator", reseller, "--acknowledge-notice"
    )

    assert refused.code == 2, refused
    assert refused.data["field"] == "customer_uin"
    assert refused.data["error"].startswith("row 3, customer_uin: ")
    assert partner_center.records(good) == []
    assert (await unbind("status", "--customer", good)).code == 1


async def test_an_interrupted_batch_resumes_without_submitting_anyone_twice(
    dev_env: WorkflowEnvironment,
    worker: Worker,
    database_url: str,
    partner_center: SqlPartnerCenter,
    unbind: Unbind,
    tmp_path: Path,
) -> None:
    reseller = _reseller(partner_center)
    customers = _customers(partner_center, reseller, 8)
    path = _file(tmp_path, customers)
    env = isolated_environment(
        address=dev_env.client.service_client.config.target_host,
        task_queue=worker.task_queue,
        database_url=database_url,
    )
    argv = ["apply-batch", "--file", str(path), "--initiator", reseller, "--acknowledge-notice"]
    process = await start_unbind(env, *argv, "--concurrency", "1")
    assert process.stderr is not None and process.stdout is not None
    # Ctrl-C once the first customer's outcome is reported.
    first_line = await asyncio.wait_for(process.stderr.readline(), 60)
    assert first_line.startswith(b"[1/8] "), first_line
    process.send_signal(signal.SIGINT)
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 130, out
    assert b"interrupted: run the same command again" in out
    submitted_first = {c for c in customers if partner_center.records(c)}
    assert 1 <= len(submitted_first) < len(customers)

    resumed = await unbind(*argv)

    assert resumed.code == 0, resumed
    assert resumed.data["complete"] is True
    outcomes = resumed.data["outcomes"]
    assert [o["outcome"] for o in outcomes] == ["accepted"] * len(customers)
    # Those the first run submitted (and one it may have had in flight) are found.
    assert submitted_first <= {o["customer_uin"] for o in outcomes if o["resumed"]}
    for customer in customers:
        [record] = partner_center.records(customer)
        assert record.application_id == application_id_for(resumed.data["batch_id"], customer)
        description = await dev_env.client.get_workflow_handle(f"unbind-{customer}").describe()
        # One run per customer: the first run of its workflow id is still the one open.
        assert description.status is not None and description.status.name == "RUNNING"
