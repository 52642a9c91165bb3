"""An operator's day in the Temporal Web UI, in a real browser: find
applications with a visibility query, read one, query its timeline, recheck
it after a fix, cancel one that waits, and read a business refusal.

Each scene is set up through the client API on a real worker and a real
partner center; everything the operator does happens in the page. Each test
saves a screenshot under artifacts/browser/.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from typing import Any

import pytest
from playwright.async_api import Page, ViewportSize, expect
from temporalio.client import Client, WorkflowHandle

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient, build_action
from tests.browser.conftest import WebUi, listed_workflow_ids, screenshot
from tests.conftest import Ledger, Parties, eventually, fresh_uin
from workflows import search_attributes as sa
from workflows.model import ConfirmAction, PartnerKind, UnbindingState, UnbindStatus
from workflows.unbinding import UnbindingWorkflow

pytestmark = [pytest.mark.browser, pytest.mark.integration]

S = UnbindStatus
OPERATOR = "operator:alice"
VISIBILITY_WAIT = 15.0
"""Seconds for the dev server's list view to catch up with the workflows."""
RENDER_WAIT = 10.0
"""Seconds for the list page to render the rows its heading counts."""
TALL_VIEWPORT = ViewportSize(width=1400, height=1900)
WIDE_VIEWPORT = ViewportSize(width=2000, height=1000)


async def statuses_visible(client: Client, expected: Mapping[str, UnbindStatus]) -> None:
    """Wait until the list view knows every workflow with its expected status,
    so that what the page shows next is the UI's doing, not visibility lag."""
    query = " OR ".join(f"WorkflowId = '{workflow_id}'" for workflow_id in expected)

    async def seen() -> dict[str, str | None]:
        return {
            execution.id: execution.typed_search_attributes.get(sa.UNBIND_STATUS)
            async for execution in client.list_workflows(query)
        }

    wanted = {workflow_id: status.value for workflow_id, status in expected.items()}
    answer = await eventually(seen, lambda found: found == wanted, within=VISIBILITY_WAIT)
    assert answer == wanted


# ---- scenes ----------------------------------------------------------------------------


async def waiting_for_customer(unbinding: UnbindingClient, parties: Parties) -> str:
    result = await unbinding.apply(
        customer_uin=parties.customer, initiator_uin=parties.reseller, notice_acknowledged=True
    )
    assert result.status is S.PENDING_CUSTOMER_CONFIRMATION, result
    return result.workflow_id


async def waiting_for_distributor(unbinding: UnbindingClient, parties: Parties) -> str:
    result = await unbinding.apply(
        customer_uin=parties.customer, initiator_uin=parties.reseller, notice_acknowledged=True
    )
    assert result.status is S.PENDING_DISTRIBUTOR_REVIEW, result
    return result.workflow_id


async def awaiting_remediation(
    unbinding: UnbindingClient, pc: SqlPartnerCenter, parties: Parties
) -> str:
    """Confirmed by the customer, then stopped by the final check: the account froze."""
    workflow_id = await waiting_for_customer(unbinding, parties)
    pc.set_account(parties.customer, frozen=True)
    answer = await unbinding.confirm(parties.customer, actor=parties.customer)
    assert answer.status is S.AWAITING_REMEDIATION, answer
    return workflow_id


async def fixed_while_awaiting_remediation(
    unbinding: UnbindingClient, ledger: Ledger
) -> tuple[Parties, str]:
    """A new application stopped by the final check, whose account the
    initiator has fixed since: its parties and workflow id."""
    parties = ledger.direct()
    workflow_id = await awaiting_remediation(unbinding, ledger.pc, parties)
    ledger.pc.set_account(parties.customer, frozen=False)
    return parties, workflow_id


async def precheck_failed(
    unbinding: UnbindingClient, pc: SqlPartnerCenter, parties: Parties
) -> str:
    pc.set_account(parties.customer, frozen=True)
    result = await unbinding.apply(
        customer_uin=parties.customer, initiator_uin=parties.reseller, notice_acknowledged=True
    )
    assert result.status is S.PRECHECK_FAILED, result
    return result.workflow_id


# ---- page helpers ----------------------------------------------------------------------


async def filter_list(page: Page, web_ui: WebUi, query: str) -> set[str]:
    """Type a visibility query into the list page, as an operator does, and
    return the workflow ids it shows once the rows match the result count."""
    await page.goto(web_ui.list_page())
    await page.get_by_test_id("toggle-manual-query").click()
    box = page.get_by_test_id("workflow-manual-search-input")
    await box.fill(query)
    await box.press("Enter")
    await expect(page).to_have_url(re.compile(r"[?&]query="))
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_text(re.compile(r"^\s*\d+ Workflows?\s*$"))

    async def shown() -> tuple[int, set[str]]:
        count = int((await heading.inner_text()).split()[0])
        return count, await listed_workflow_ids(page)

    count, ids = await eventually(shown, lambda seen: seen[0] == len(seen[1]), within=RENDER_WAIT)
    assert count == len(ids), f"the heading says {count}, the rows show {sorted(ids)}"
    return ids


async def open_tab(page: Page, name: str) -> None:
    await page.get_by_role("tab", name=name).click()


async def markdown(page: Page, frame_id: str) -> str:
    """The text of a user-metadata block (the UI renders markdown in an iframe)."""
    body = page.frame_locator(f"#{frame_id}").locator("body")
    await expect(body).not_to_be_empty()
    return await body.inner_text()


async def choose(page: Page, select_test_id: str, option: str) -> str:
    """Open one of the UI's select menus and pick ``option``; returns the option
    (its text includes the handler's description)."""
    await page.locator(f'[data-testid="{select_test_id}-button"]:visible').click()
    item = page.get_by_role("option").filter(has=page.get_by_text(option, exact=True)).first
    await expect(item).to_be_visible()
    description = await item.inner_text()
    await item.click()
    return description


async def wait_for_badge(page: Page, status: str) -> None:
    """The run's status badge in the page header, reloading until it shows ``status``."""
    badge = page.get_by_test_id("execution-status").first

    async def shown() -> bool:
        await page.reload()
        await expect(badge).to_be_visible()
        return (await badge.inner_text()).strip().upper() == status

    assert await eventually(shown, bool, within=VISIBILITY_WAIT), f"the page never showed {status}"


def handle(client: Client, workflow_id: str) -> WorkflowHandle[Any, UnbindingState]:
    return client.get_workflow_handle_for(UnbindingWorkflow.run, workflow_id)


# ---- 1. finding applications -----------------------------------------------------------


async def test_a_visibility_query_finds_exactly_the_matching_applications(
    page: Page, web_ui: WebUi, unbinding: UnbindingClient, ledger: Ledger
) -> None:
    pc = ledger.pc
    # Three customers of one direct reseller, in three states.
    direct_reseller = fresh_uin()
    pc.add_partner(direct_reseller, kind=PartnerKind.RESELLER)
    siblings = [Parties(customer=fresh_uin(), reseller=direct_reseller) for _ in range(3)]
    for parties in siblings:
        pc.add_customer(parties.customer, partner_uin=direct_reseller, card=True)
    waiting = await waiting_for_customer(unbinding, siblings[0])
    remediation = await awaiting_remediation(unbinding, pc, siblings[1])
    refused = await precheck_failed(unbinding, pc, siblings[2])
    # Two customers of one second-level reseller under a distributor.
    second = ledger.second_level()
    assert second.distributor is not None
    approved = Parties(
        customer=fresh_uin(), reseller=second.reseller, distributor=second.distributor
    )
    pc.add_customer(approved.customer, partner_uin=second.reseller, card=True)
    in_review = await waiting_for_distributor(unbinding, second)
    reviewed = await waiting_for_distributor(unbinding, approved)
    answer = await unbinding.review(approved.customer, actor=second.distributor, approve=True)
    assert answer.status is S.PENDING_CUSTOMER_CONFIRMATION
    # Another reseller's application in the same status must not leak into a filter.
    elsewhere = await waiting_for_customer(unbinding, ledger.direct())
    await statuses_visible(
        web_ui.env.client,
        {
            waiting: S.PENDING_CUSTOMER_CONFIRMATION,
            remediation: S.AWAITING_REMEDIATION,
            refused: S.PRECHECK_FAILED,
            in_review: S.PENDING_DISTRIBUTOR_REVIEW,
            reviewed: S.PENDING_CUSTOMER_CONFIRMATION,
            elsewhere: S.PENDING_CUSTOMER_CONFIRMATION,
        },
    )

    by_reseller = f'ResellerUin = "{direct_reseller}"'
    assert await filter_list(page, web_ui, by_reseller) == {waiting, remediation, refused}
    assert await filter_list(
        page, web_ui, f'{by_reseller} AND UnbindStatus = "PENDING_CUSTOMER_CONFIRMATION"'
    ) == {waiting}
    assert await filter_list(
        page, web_ui, f'{by_reseller} AND UnbindStatus = "AWAITING_REMEDIATION"'
    ) == {remediation}
    by_distributor = f'DistributorUin = "{second.distributor}"'
    assert await filter_list(page, web_ui, by_distributor) == {in_review, reviewed}
    assert await filter_list(
        page, web_ui, f'{by_distributor} AND UnbindStatus = "PENDING_DISTRIBUTOR_REVIEW"'
    ) == {in_review}
    # The runbook's "every open application waiting for people": open ones with a deadline.
    waiting_for_people = await filter_list(
        page,
        web_ui,
        f'{by_reseller} AND ExecutionStatus = "Running" AND UnbindDeadline IS NOT NULL',
    )
    assert waiting_for_people == {waiting, remediation}
    await filter_list(page, web_ui, by_reseller)
    await screenshot(page, "1-filter-by-reseller")


# ---- 2. reading one application --------------------------------------------------------


async def test_an_application_shows_its_summary_and_current_details(
    page: Page, web_ui: WebUi, unbinding: UnbindingClient, ledger: Ledger
) -> None:
    parties = ledger.direct()
    workflow_id = await awaiting_remediation(unbinding, ledger.pc, parties)
    state = await unbinding.status(parties.customer)
    assert state.deadline is not None

    await page.goto(web_ui.workflow_page(workflow_id))
    # The timeline names each write and wait in business words; the partner
    # center's reads, local activities, by their activity type (the Web UI
    # shows no summary for those).
    timeline = page.locator("main")
    for step in (
        "check_application",
        "check_account",
        "Record status AWAITING_REMEDIATION",
        f"notify {parties.reseller}: Customer confirmed the unbinding application",
        "Scheduled recheck while waiting for the initiator to fix the failed checks",
    ):
        await expect(timeline.get_by_text(step).first).to_be_visible()
    await screenshot(page, "2-timeline-in-business-words")

    await open_tab(page, "User Metadata")
    summary = await markdown(page, "user-metadata-summary")
    assert f"Unbind customer {parties.customer} from reseller {parties.reseller}" in summary
    details = await markdown(page, "user-metadata-details")
    for fact in (
        f"Customer: {parties.customer}",
        f"Reseller (initiator): {parties.reseller}",
        f"Notice acknowledged by {parties.reseller}",
        "remediation: 7 days",
    ):
        assert fact in details, details
    current = await markdown(page, "user-metadata-current-details")
    for fact in (
        "Status: AWAITING_REMEDIATION",
        "Waiting for: the initiator to fix the failed checks",
        f"Next deadline: {state.deadline.isoformat()}",
        "Failed checks:",
        "account_frozen: unfreeze the customer account first",
    ):
        assert fact in current, current
    await screenshot(page, "2-summary-and-current-details")


# ---- 3. the status query ---------------------------------------------------------------


async def test_the_status_query_shows_the_timeline(
    page: Page, web_ui: WebUi, unbinding: UnbindingClient, ledger: Ledger
) -> None:
    parties = ledger.direct()
    workflow_id = await waiting_for_customer(unbinding, parties)
    # A wrong actor's signal is recorded as refused, then the customer confirms.
    intruder = fresh_uin()
    await unbinding.signal(
        parties.customer, build_action(ConfirmAction, actor=intruder, action_id="intruder-confirm")
    )
    ledger.pc.set_account(parties.customer, frozen=True)
    answer = await unbinding.confirm(
        parties.customer, actor=parties.customer, action_id="customer-confirm"
    )
    assert answer.status is S.AWAITING_REMEDIATION

    await page.set_viewport_size(TALL_VIEWPORT)  # room for the timeline in the screenshot
    await page.goto(web_ui.workflow_page(workflow_id))
    await open_tab(page, "Queries")
    description = await choose(page, "query-select", "status")
    assert "Full state: parties, deadlines, timeline." in description
    await page.get_by_role("button", name=re.compile(r"^(Run|Refresh) Query$")).click()
    timeline = page.locator("main").get_by_text('"timeline"').first
    await expect(timeline).to_be_visible()
    await timeline.scroll_into_view_if_needed()
    await screenshot(page, "3-status-query-timeline")
    # Unformatted, the whole answer is one line the code viewer renders at once.
    await page.get_by_role("switch", name="JSON Formatting").click(force=True)
    raw = page.locator("main .cm-content").filter(has_text='"timeline":')
    state = json.loads(await raw.inner_text())
    assert state["status"] == "AWAITING_REMEDIATION"
    entries = [
        (entry["actor"], entry["action"], entry["accepted"], entry["action_id"])
        for entry in state["timeline"]
    ]
    assert entries == [
        (intruder, "confirm", False, "intruder-confirm"),
        (parties.customer, "confirm", True, "customer-confirm"),
    ]
    assert "only the customer" in (state["timeline"][0]["reason"] or "")


# ---- 4. recheck from the UI ------------------------------------------------------------


async def test_a_recheck_signal_from_the_ui_completes_a_fixed_application(
    page: Page, web_ui: WebUi, unbinding: UnbindingClient, ledger: Ledger
) -> None:
    parties, workflow_id = await fixed_while_awaiting_remediation(unbinding, ledger)

    await page.goto(web_ui.workflow_page(workflow_id))
    await page.get_by_role("button", name="More Actions").click()
    await page.get_by_role("menuitem", name="Send a Signal").click()
    description = await choose(page, "signal-select", "recheck")
    assert "Re-run the final check after a fix" in description
    assert '"actor": "operator:<name>"' in description
    dialog = page.locator("dialog:visible")
    await dialog.get_by_role("textbox", name="Data").fill(
        json.dumps({"actor": OPERATOR, "action_id": "ui-recheck-1"})
    )
    await screenshot(page, "4-recheck-signal-dialog")
    await dialog.get_by_role("button", name="Submit").click()

    state = await asyncio.wait_for(handle(web_ui.env.client, workflow_id).result(), VISIBILITY_WAIT)
    assert state.status is S.COMPLETED and state.effective_at is not None
    assert (OPERATOR, "recheck", True) in [(e.actor, e.action, e.accepted) for e in state.timeline]
    account = ledger.pc.show(parties.customer)
    assert account["partner"] is None and account["agreement"]["state"] == "invalidated"
    await wait_for_badge(page, "COMPLETED")
    await expect(page.locator("main").get_by_text('"status": "COMPLETED"').first).to_be_visible()
    await screenshot(page, "4-recheck-completed")
    # The current details followed every change, up to the outcome.
    await open_tab(page, "User Metadata")
    current = await markdown(page, "user-metadata-current-details")
    assert "Status: COMPLETED" in current, current
    assert f"Billing boundary: {state.effective_at.isoformat()}" in current, current
    assert "Failed checks" not in current and "Next deadline" not in current, current


# ---- 5. cancel from the UI -------------------------------------------------------------


async def test_cancel_from_the_ui_ends_a_waiting_application_cleanly(
    page: Page, web_ui: WebUi, unbinding: UnbindingClient, ledger: Ledger
) -> None:
    parties = ledger.second_level()
    workflow_id = await waiting_for_distributor(unbinding, parties)

    await page.goto(web_ui.workflow_page(workflow_id))
    await page.get_by_role("button", name="Request Cancellation").click()
    dialog = page.locator("dialog:visible")
    await expect(dialog).to_contain_text("cancel this workflow")
    await dialog.get_by_role("button", name="Confirm").click()

    state = await asyncio.wait_for(handle(web_ui.env.client, workflow_id).result(), VISIBILITY_WAIT)
    assert state.status is S.CANCELLED
    assert ("operator", "cancel", True) in [(e.actor, e.action, e.accepted) for e in state.timeline]
    [record] = ledger.pc.records(parties.customer)
    assert record.status is S.CANCELLED
    for party in (parties.reseller, parties.customer, parties.distributor):
        assert party is not None
        cancelled = [m for m in ledger.pc.inbox(party) if m["event"] == "cancelled"]
        assert len(cancelled) == 1, party
        assert "ended as CANCELLED" in cancelled[0]["body"]
    await wait_for_badge(page, "COMPLETED")
    await expect(page.locator("main").get_by_text('"status": "CANCELLED"').first).to_be_visible()
    await screenshot(page, "5-cancelled")


# ---- a business refusal reads as one ---------------------------------------------------


async def test_a_business_refusal_shows_its_message_not_a_stack_trace(
    page: Page, web_ui: WebUi, unbinding: UnbindingClient, ledger: Ledger, database_url: str
) -> None:
    parties = ledger.direct()
    workflow_id = await awaiting_remediation(unbinding, ledger.pc, parties)
    # Behind the process's back, the customer moves to another reseller.
    other = ledger.moved_to_another_reseller(parties.customer, database_url)
    ledger.pc.set_account(parties.customer, frozen=False)
    answer = await unbinding.recheck(parties.customer, actor=OPERATOR)
    assert answer.status is S.FAILED

    await page.set_viewport_size(WIDE_VIEWPORT)  # the failure's JSON sits on the right
    await page.goto(web_ui.workflow_page(workflow_id))
    await open_tab(page, "Event History")
    failed = page.get_by_text("Activity Task Failed").first
    await expect(failed).to_be_visible()
    await failed.click()
    main = page.locator("main")
    await expect(main.get_by_text("relationship check failed at cutover").first).to_be_visible()
    await expect(main.get_by_text(f"is bound to {other}").first).to_be_visible()
    await expect(main.get_by_text("RelationshipConflict").first).to_be_visible()
    await main.get_by_text(f"is bound to {other}").last.scroll_into_view_if_needed()
    await page.evaluate("for (const e of document.querySelectorAll('*')) e.scrollLeft = 0")
    text = await main.inner_text()
    assert "Traceback" not in text and 'File "' not in text and ".py" not in text, text
    await screenshot(page, "6-business-refusal-without-stack-trace")
