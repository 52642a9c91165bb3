"""The demo's scenarios, played against the real dev server and a real worker,
twice on one ledger as ``make demo`` does on its persisted state; and the
pieces of its report."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from activities.sql.demo import DEMO_RESELLER
from starter import demo_scenarios
from starter.client import UnbindingClient
from starter.demo_scenarios import DemoPartners, Outcome, Scenarios, fresh_uins, render_table
from tests.conftest import running_worker
from workflows.fields import UIN_PATTERN
from workflows.model import UnbindStatus


class Clock:
    """``time.time`` for the demo's UINs, moved on by the test."""

    def __init__(self) -> None:
        self.now = 1_795_000_000.000

    def time(self) -> float:
        return self.now


def test_fresh_uins_are_valid_and_never_repeat_across_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(demo_scenarios, "time", clock)
    first = fresh_uins()
    earlier = [next(first) for _ in range(20)]
    clock.now += 0.001  # the next run starts a millisecond later
    later = [next(fresh_uins()) for _ in range(1)]
    assert all(re.fullmatch(UIN_PATTERN, uin) for uin in earlier + later)
    assert len(set(earlier + later)) == len(earlier) + len(later)


def test_the_table_flags_a_scenario_that_missed_its_status() -> None:
    outcomes = [
        Outcome("happy", "50000000001", "COMPLETED", UnbindStatus.COMPLETED, "applied → done"),
        Outcome("stuck", "50000000002", "ERROR", UnbindStatus.COMPLETED, "error: no worker"),
    ]
    table = render_table(outcomes)
    assert outcomes[0].ok and not outcomes[1].ok
    assert "scenario | customer" in table
    rows = {line.split(" | ")[0].strip(): line for line in table.splitlines()}
    assert "✗" not in rows["happy"]
    assert "ERROR ✗ (COMPLETED)" in rows["stuck"]


@pytest.mark.integration
async def test_every_scenario_reaches_its_status_again_on_the_same_ledger(
    dev_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    executor: ThreadPoolExecutor,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with running_worker(dev_env.client, partner_center, executor) as worker:
        client = UnbindingClient(dev_env.client, task_queue=worker.task_queue)
        for _run in range(2):
            partners = DemoPartners.seed(partner_center)
            assert partners.reseller == DEMO_RESELLER
            outcomes = await Scenarios(client, partner_center, partners, uins=fresh_uins()).play()
            assert [(o.status, o.story) for o in outcomes if not o.ok] == []
            # Each scenario is named as it plays, on stderr (progress), in order.
            shown = capsys.readouterr().err.splitlines()
            assert [line.split(" (customer")[0] for line in shown if "Playing" in line] == [
                f"Playing scenario {o.scenario}" for o in outcomes
            ]
            assert shown[-1].startswith(f"demo scenarios: done {len(outcomes)}/{len(outcomes)} in")
            assert {o.expected for o in outcomes} >= {
                UnbindStatus.COMPLETED,
                UnbindStatus.CUSTOMER_REJECTED,
                UnbindStatus.PENDING_CUSTOMER_CONFIRMATION,
                UnbindStatus.AWAITING_REMEDIATION,
                UnbindStatus.AWAITING_EFFECTIVE_DATE,
            }
            titles = " ".join(o.scenario for o in outcomes)
            assert "customer's own request" in titles and "billing month" in titles
