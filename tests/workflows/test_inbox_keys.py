"""Every failed final check reaches the initiator's inbox, however long the
application has been waiting for a fix.

The inbox keeps one message per recipient per event key, so two different
notifications under one key lose the second as a "duplicate". A long
remediation (the check fails again and again, each time for another reason)
crosses several continue-as-new boundaries, after which the continued run
carries only the most recent transitions: the test makes that happen on a dev
server that suggests continue-as-new early (as the storm tests do), through
public surfaces only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from tests.conftest import Ledger, dev_server_environment, running_worker
from workflows.model import UnbindStatus

pytestmark = pytest.mark.integration
S = UnbindStatus

MAX_CYCLES = 120
"""Rechecks at most: far more than it takes to trim the carried transitions."""
SUGGEST_CONTINUE_AS_NEW_AT = 300
"""Events after which this test's dev server suggests continuing as new (the
default is 4,096): a run then lasts about ten remediation cycles."""
CYCLES_AFTER_TRIMMING = 4
"""Failed rechecks still made once a continued run has forgotten transitions."""


@pytest_asyncio.fixture(scope="module")
async def short_history_env() -> AsyncIterator[WorkflowEnvironment]:
    async with dev_server_environment(
        dev_server_extra_args=[
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={SUGGEST_CONTINUE_AS_NEW_AT}",
        ]
    ) as env:
        yield env


async def test_every_failed_final_check_reaches_the_initiator_across_continue_as_new(
    short_history_env: WorkflowEnvironment,
    partner_center: SqlPartnerCenter,
    ledger: Ledger,
    executor: ThreadPoolExecutor,
) -> None:
    parties = ledger.second_level(card=True)
    assert parties.distributor is not None
    async with running_worker(short_history_env.client, partner_center, executor) as worker:
        client = UnbindingClient(short_history_env.client, task_queue=worker.task_queue)
        submitted = await client.apply(
            customer_uin=parties.customer, initiator_uin=parties.reseller, notice_acknowledged=True
        )
        assert submitted.status is S.PENDING_DISTRIBUTOR_REVIEW, submitted
        reviewed = await client.review(parties.customer, actor=parties.distributor, approve=True)
        assert reviewed.status is S.PENDING_CUSTOMER_CONFIRMATION, reviewed
        partner_center.set_account(parties.customer, frozen=True)
        confirmed = await client.confirm(parties.customer, actor=parties.customer)
        assert confirmed.status is S.AWAITING_REMEDIATION, confirmed
        failures = 1

        # Each recheck fails for the other reason than the last: frozen, then
        # negative credit, then frozen again...
        frozen = True
        cycles_left = None
        for _ in range(MAX_CYCLES):
            state = await client.status(parties.customer)
            if cycles_left is None and state.forgotten_entries > 0:
                cycles_left = CYCLES_AFTER_TRIMMING
            if cycles_left == 0:
                break
            frozen = not frozen
            partner_center.set_account(
                parties.customer, frozen=frozen, credit_cents=0 if frozen else -100
            )
            answer = await client.recheck(parties.customer, actor=parties.reseller)
            assert answer.accepted and answer.status is S.AWAITING_REMEDIATION, answer
            failures += 1
            if cycles_left is not None:
                cycles_left -= 1
        state = await client.status(parties.customer)
        assert state.runs > 1 and state.forgotten_entries > 0, (
            f"never trimmed: {state.runs} runs, {state.forgotten_entries} forgotten"
        )

        received = [
            m
            for m in partner_center.inbox(parties.reseller)
            if m["event"].startswith("final_check_failed")
        ]
        assert len(received) == failures, (
            f"{failures} failed final checks, {len(received)} messages in the initiator's "
            f"inbox after {state.runs} runs (the rest reused a key already delivered); "
            f"last keys delivered: {[m['event'] for m in received][-6:]}"
        )
