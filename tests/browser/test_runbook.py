"""The runbook (docs/OPERATIONS.md) in a real browser: a recheck sent as an
update from the UI's dialog and answered; a Terminate from the UI repaired
with ``unbind close-terminated``; and the runbook's own expiring, stuck and
stopped-by-hand queries, read from the runbook and typed into the list page.

Scenes are set up through the client API on a real worker; what the operator
does happens in the page (and, for the repair, in a shell).
"""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, ViewportSize, expect
from temporalio.client import Client, WorkflowFailureError

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient, build_action
from starter.devstack.environment import isolated_environment
from tests.browser.conftest import WebUi, screenshot
from tests.browser.test_web_ui import (
    OPERATOR,
    VISIBILITY_WAIT,
    awaiting_remediation,
    choose,
    filter_list,
    fixed_while_awaiting_remediation,
    handle,
    open_tab,
    wait_for_badge,
)
from tests.cli import run_unbind
from tests.conftest import Ledger, Parties, eventually, fresh_uin
from tests.workflows.gates import GatedPartnerCenter, gated_worker
from workflows.model import Deadlines, PartnerKind, RecheckAction, UnbindStatus

pytestmark = [pytest.mark.browser, pytest.mark.integration]

S = UnbindStatus
ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "OPERATIONS.md"
TALL_AND_WIDE = ViewportSize(width=2000, height=1900)


def runbook_query(label: str) -> str:
    """The query the runbook's "Finding applications" table gives for ``label``."""
    for line in RUNBOOK.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and label in cells[0]:
            [query] = re.findall(r"`([^`]+)`", cells[1])
            return query
    raise AssertionError(f"no {label!r} row in {RUNBOOK}")


async def open_workflow(page: Page, web_ui: WebUi, workflow_id: str) -> None:
    """The workflow page, once the UI has moved on to the run's own address (a
    click before that can be lost to the navigation)."""
    await page.goto(web_ui.workflow_page(workflow_id))
    await expect(page).to_have_url(re.compile(rf"/workflows/{workflow_id}/[^/]+/"))
    await expect(page.get_by_test_id("execution-status").first).to_be_visible()


async def send_update(page: Page, name: str, data: dict[str, str], *, update_id: str) -> None:
    """More Actions → Send an Update, as the runbook says: name, data, update id."""
    await page.get_by_role("button", name="More Actions").click()
    await page.get_by_role("menuitem", name="Send an Update").click()
    description = await choose(page, "update-select", name)
    assert '"actor": "operator:<name>"' in description, description
    dialog = page.locator("dialog:visible")
    await dialog.get_by_role("textbox", name="Data").fill(json.dumps(data))
    # Filled after the data: with the field empty, UI 2.54.1 sent nothing.
    await dialog.get_by_test_id("update-id").fill(update_id)
    await dialog.get_by_role("button", name="Submit").click()


# ---- Send an Update: an answer instead of fire-and-forget ------------------------------


async def test_a_recheck_sent_as_an_update_from_the_ui_is_answered(
    page: Page, web_ui: WebUi, unbinding: UnbindingClient, ledger: Ledger
) -> None:
    parties, workflow_id = await fixed_while_awaiting_remediation(unbinding, ledger)
    waiting = handle(web_ui.env.client, workflow_id)

    await open_workflow(page, web_ui, workflow_id)
    # The customer may not ask for a recheck: the dialog says why, nothing is written.
    before = (await waiting.fetch_history()).events
    await send_update(
        page,
        "recheck",
        {"actor": parties.customer, "action_id": "ui-update-refused"},
        update_id="ui-update-refused",
    )
    dialog = page.locator("dialog:visible")
    await expect(dialog).to_contain_text(
        f"{parties.customer} may not recheck: only the initiator or an operator"
    )
    await screenshot(page, "7-update-refused-in-the-dialog")
    assert len((await waiting.fetch_history()).events) == len(before)
    await dialog.get_by_role("button", name="Cancel").last.click()
    await expect(dialog).to_have_count(0)

    # An operator's recheck is accepted and answered; the application moves on.
    await send_update(
        page,
        "recheck",
        {"actor": OPERATOR, "action_id": "ui-update-1"},
        update_id="ui-update-1",
    )
    await expect(page.get_by_text("Update successful").first).to_be_visible()
    state = await asyncio.wait_for(waiting.result(), VISIBILITY_WAIT)
    assert state.status is S.COMPLETED
    assert (OPERATOR, "recheck", True, "ui-update-1") in [
        (e.actor, e.action, e.accepted, e.action_id) for e in state.timeline
    ]
    [record] = ledger.pc.records(parties.customer)
    assert record.status is S.COMPLETED
    assert ledger.pc.show(parties.customer)["partner"] is None

    # The answer is in the event history, under the update id typed in the dialog.
    await page.set_viewport_size(TALL_AND_WIDE)  # room for the update's rows and answer
    await wait_for_badge(page, "COMPLETED")
    await open_tab(page, "Event History")
    completed = page.get_by_text("Workflow Execution Update Completed").first
    await expect(completed).to_be_visible()
    answer = page.locator("main").get_by_text('{"accepted":true,"status":"COMPLETED"').first
    await expect(answer).to_be_visible()
    await screenshot(page, "8-update-answer-in-the-history")


# ---- Terminate, then repair ------------------------------------------------------------


async def close_terminated(
    web_ui: WebUi, task_queue: str, database_url: str, customer: str
) -> dict[str, Any]:
    """``unbind close-terminated … --json`` in a shell, as the runbook says."""
    env = isolated_environment(
        address=web_ui.env.client.service_client.config.target_host,
        task_queue=task_queue,
        database_url=database_url,
    )
    repaired = await run_unbind(
        env,
        "close-terminated",
        "--customer",
        customer,
        "--as",
        OPERATOR,
        "--reason",
        "terminated by mistake",
    )
    assert repaired.code == 0, (repaired.stdout, repaired.stderr)
    answer: dict[str, Any] = repaired.data
    return answer


async def test_a_terminate_from_the_ui_is_repaired_with_close_terminated(
    page: Page,
    web_ui: WebUi,
    unbinding: UnbindingClient,
    ledger: Ledger,
    database_url: str,
) -> None:
    parties = ledger.second_level()
    assert parties.distributor is not None
    workflow_id = await waiting_for_customer_after_review(unbinding, parties)
    stopped = handle(web_ui.env.client, workflow_id)

    await open_workflow(page, web_ui, workflow_id)
    await page.get_by_role("button", name="More Actions").click()
    await page.get_by_role("menuitem", name="Terminate").click()
    dialog = page.locator("dialog:visible")
    await dialog.get_by_role("textbox").first.fill("by mistake")
    await dialog.get_by_role("button", name="Terminate").click()
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(stopped.result(), VISIBILITY_WAIT)
    # What the runbook warns of: nobody was told, the record stays open.
    [record] = ledger.pc.records(parties.customer)
    assert record.status is S.PENDING_CUSTOMER_CONFIRMATION
    assert not any(m["event"] == "cancelled" for m in ledger.pc.inbox(parties.customer))

    repaired = await close_terminated(web_ui, unbinding.task_queue, database_url, parties.customer)
    [repair] = repaired["repairs"]
    assert (repair["workflow_id"], repair["execution_status"], repair["status"]) == (
        workflow_id,
        "TERMINATED",
        "CANCELLED",
    )
    assert repair["closed_now"] is True
    [record] = ledger.pc.records(parties.customer)
    assert record.status is S.CANCELLED
    for party in (parties.reseller, parties.customer, parties.distributor):
        cancelled = [m for m in ledger.pc.inbox(party) if m["event"] == "cancelled"]
        assert len(cancelled) == 1, party
        assert "terminated by mistake" in cancelled[0]["body"], cancelled[0]
    # Run again, it changes nothing and tells nobody again.
    again = await close_terminated(web_ui, unbinding.task_queue, database_url, parties.customer)
    assert again["repairs"] == []

    # The UI shows the closed run: terminated, and listed as stopped by hand.
    await wait_for_badge(page, "TERMINATED")
    await expect(page.locator("main").get_by_text("by mistake").first).to_be_visible()
    await screenshot(page, "9-terminated-run")
    stopped_by_hand = runbook_query("stopped by hand")
    assert await filter_list(
        page, web_ui, f'({stopped_by_hand}) AND CustomerUin = "{parties.customer}"'
    ) == {workflow_id}


async def waiting_for_customer_after_review(unbinding: UnbindingClient, parties: Parties) -> str:
    result = await unbinding.apply(
        customer_uin=parties.customer, initiator_uin=parties.reseller, notice_acknowledged=True
    )
    assert result.status is S.PENDING_DISTRIBUTOR_REVIEW, result
    assert parties.distributor is not None
    answer = await unbinding.review(parties.customer, actor=parties.distributor, approve=True)
    assert answer.status is S.PENDING_CUSTOMER_CONFIRMATION, answer
    return result.workflow_id


# ---- the runbook's queries -------------------------------------------------------------


async def ids_listed(client: Client, query: str) -> set[str]:
    return {execution.id async for execution in client.list_workflows(query)}


async def listed_when(client: Client, query: str, expected: set[str]) -> set[str]:
    """What ``query`` lists once the list view has caught up with ``expected``."""
    return await eventually(
        lambda: ids_listed(client, query), lambda ids: ids == expected, within=VISIBILITY_WAIT
    )


async def test_the_runbooks_expiring_stuck_and_stopped_queries_list_exactly_their_applications(
    page: Page,
    web_ui: WebUi,
    partner_center: SqlPartnerCenter,
    executor: ThreadPoolExecutor,
) -> None:
    client = web_ui.env.client
    gated = GatedPartnerCenter(partner_center)
    reseller = fresh_uin()
    partner_center.add_partner(reseller, kind=PartnerKind.RESELLER)

    def customer() -> Parties:
        parties = Parties(customer=fresh_uin(), reseller=reseller)
        partner_center.add_customer(parties.customer, partner_uin=reseller, card=True)
        return parties

    one_day = Deadlines(customer_confirmation=timedelta(days=1), reminders_before=())
    async with gated_worker(client, gated, executor) as worker:
        unbinding = UnbindingClient(client, task_queue=worker.task_queue)

        async def apply(parties: Parties, deadlines: Deadlines | None = None) -> str:
            result = await unbinding.apply(
                customer_uin=parties.customer,
                initiator_uin=reseller,
                notice_acknowledged=True,
                deadlines=deadlines,
            )
            assert result.status is S.PENDING_CUSTOMER_CONFIRMATION, result
            return result.workflow_id

        # Expiring: the customer has one day to answer.
        expiring = await apply(customer(), one_day)
        # Must match nothing: waits ten days, as usual.
        waiting = await apply(customer())
        # Stuck: the cutover hangs on the partner center.
        held = customer()
        stuck = await awaiting_remediation(unbinding, partner_center, held)
        partner_center.set_account(held.customer, frozen=False)
        cutover = gated.hold("cut_over")
        # A signal: an update's answer would wait for the cutover the gate holds.
        await unbinding.signal(held.customer, build_action(RecheckAction, actor=OPERATOR))
        await cutover.entered()
        # Stopped by hand: terminated, its one-day deadline still in its search attributes.
        terminated = await apply(customer(), one_day)
        await client.get_workflow_handle(terminated).terminate(reason="by mistake")
        # Must match nothing: cancelled, an ending the workflow made itself.
        cancelled = await apply(customer())
        await client.get_workflow_handle(cancelled).cancel()
        assert (await handle(client, cancelled).result()).status is S.CANCELLED

        cutoff = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        expiring_query, replaced = re.subn(
            r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"', f'"{cutoff}"', runbook_query("**expiring**")
        )
        assert replaced == 1, expiring_query
        expected = {  # stuck first: the gate lets the cutover go on its own after a while
            runbook_query("**stuck**"): {stuck},
            expiring_query: {expiring},
            runbook_query("stopped by hand"): {terminated},
        }
        mine = f'ResellerUin = "{reseller}"'
        everyone = {expiring, waiting, stuck, terminated, cancelled}
        # The list view first catches up with every application of this reseller.
        assert await listed_when(client, mine, everyone) == everyone
        for query, applications in expected.items():
            scoped = f"({query}) AND {mine}"
            listed = await listed_when(client, scoped, applications)
            assert listed == applications, query
            assert await filter_list(page, web_ui, scoped) == applications, query
            if query == runbook_query("**stuck**"):
                await screenshot(page, "10-stuck-query")

        cutover.release()
        assert (await handle(client, stuck).result()).status is S.COMPLETED
