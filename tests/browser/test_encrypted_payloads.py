"""Encrypted payloads in the Web UI: a dev server started by the dev stack
with ``--ui-codec-endpoint`` pointing at a real codec server process, a
worker sealing every payload, and Chromium reading the workflow page. The
operator sees the application's input and failures in the clear, and what
the UI sends is sealed by the codec server; Temporal's own history holds only
ciphertext."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Page, ViewportSize, expect
from temporalio.client import Client

from activities.sql import SqlPartnerCenter
from starter.devstack.codec_process import CodecServerProcess
from starter.devstack.ports import HOST, free_port
from starter.devstack.server import DevServer
from starter.payload_codec import sealed
from tests.browser.conftest import screenshot
from tests.browser.test_web_ui import (
    OPERATOR,
    VISIBILITY_WAIT,
    choose,
    fixed_while_awaiting_remediation,
)
from tests.conftest import Ledger
from tests.integration.test_encrypted_payloads import (
    KEYS,
    SealedWorker,
    failed_at_cutover,
    sealed_worker,
)
from tests.test_no_secrets_in_history import history_corpus
from workflows.model import UnbindingState, UnbindStatus

pytestmark = [pytest.mark.browser, pytest.mark.integration]

REASON = "contract ends: Pangolin-Canary-2284"


@dataclass(frozen=True)
class SealedStack:
    plain: Client
    """No codec: what Temporal itself holds."""
    ui_url: str
    codec: CodecServerProcess


@pytest_asyncio.fixture(scope="module")
async def sealed_stack(
    chromium: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SealedStack]:
    tmp_path = tmp_path_factory.mktemp("sealed-stack")
    ui_port = free_port()
    ui_url = f"http://{HOST}:{ui_port}"
    codec = CodecServerProcess(
        payload_keys=KEYS, port=free_port(), ui_origin=ui_url, log_path=tmp_path / "codec.log"
    )
    server = DevServer(
        db_file=tmp_path / "temporal.db", ui_port=ui_port, ui_codec_endpoint=codec.url
    )
    await codec.start_serving()
    try:
        plain = await server.start_serving()
        yield SealedStack(plain=plain, ui_url=ui_url, codec=codec)
    finally:
        server.stop()
        codec.stop()


@pytest_asyncio.fixture
async def stack(
    sealed_stack: SealedStack, partner_center: SqlPartnerCenter, executor: ThreadPoolExecutor
) -> AsyncIterator[SealedWorker]:
    async with sealed_worker(sealed_stack.plain, partner_center, executor) as running:
        yield running


async def test_the_web_ui_shows_the_decoded_input_while_history_holds_ciphertext(
    page: Page, sealed_stack: SealedStack, stack: SealedWorker, ledger: Ledger
) -> None:
    parties = ledger.direct(card=True)
    applied = await stack.unbinding.apply(
        customer_uin=parties.customer,
        initiator_uin=parties.reseller,
        notice_acknowledged=True,
        reason=REASON,
    )
    assert applied.status is UnbindStatus.PENDING_CUSTOMER_CONFIRMATION, applied

    decoded = []
    page.on(
        "response",
        lambda r: decoded.append(r.status) if r.url.startswith(sealed_stack.codec.url) else None,
    )
    await page.goto(f"{sealed_stack.ui_url}/namespaces/default/workflows/{applied.workflow_id}")
    main = page.locator("main")
    # The input, decoded by the codec server in the browser.
    await expect(main.get_by_text(REASON).first).to_be_visible()
    await expect(main.get_by_text(f'"customer_uin": "{parties.customer}"').first).to_be_visible()
    await screenshot(page, "encrypted-payloads-decoded-input")
    assert 200 in decoded, decoded

    history = await stack.plain.get_workflow_handle(applied.workflow_id).fetch_history()
    raw = history_corpus(history)
    assert REASON not in raw
    assert "binary/encrypted" in raw


async def test_a_sealed_business_failure_reads_in_the_web_ui(
    page: Page, sealed_stack: SealedStack, stack: SealedWorker, ledger: Ledger, database_url: str
) -> None:
    parties = ledger.direct(card=True)
    workflow_id, other = await failed_at_cutover(stack.unbinding, ledger, parties, database_url)
    history = await stack.plain.get_workflow_handle(workflow_id).fetch_history()
    raw = history_corpus(history)
    assert "Encoded failure" in raw and f"is bound to {other}" not in raw

    await page.set_viewport_size(ViewportSize(width=2000, height=1000))
    await page.goto(f"{sealed_stack.ui_url}/namespaces/default/workflows/{workflow_id}")
    await page.get_by_role("tab", name="Event History").click()
    failed = page.get_by_text("Activity Task Failed").first
    await expect(failed).to_be_visible()
    await failed.click()
    main = page.locator("main")
    await expect(main.get_by_text(f"is bound to {other}").first).to_be_visible()
    # The failure itself, its encoded attributes decoded by the codec server
    # (notification bodies, also decoded, tell of the conflict too).
    text = await main.inner_text()
    assert '"encodedAttributes"' in text, text
    decoded_message = (
        f'"message": "relationship check failed at cutover: customer {parties.customer} '
        f"is bound to {other}"
    )
    assert decoded_message in text, text
    await screenshot(page, "encrypted-payloads-decoded-failure")


async def test_a_signal_sent_from_the_web_ui_is_sealed_by_the_codec_server(
    page: Page, sealed_stack: SealedStack, stack: SealedWorker, ledger: Ledger
) -> None:
    _, workflow_id = await fixed_while_awaiting_remediation(stack.unbinding, ledger)

    await page.goto(f"{sealed_stack.ui_url}/namespaces/default/workflows/{workflow_id}")
    await page.get_by_role("button", name="More Actions").click()
    await page.get_by_role("menuitem", name="Send a Signal").click()
    await choose(page, "signal-select", "recheck")
    dialog = page.locator("dialog:visible")
    await dialog.get_by_role("textbox", name="Data").fill(
        json.dumps({"actor": OPERATOR, "action_id": "ui-sealed-recheck-1"})
    )
    await dialog.get_by_role("button", name="Submit").click()

    # The worker, with the keys, read the UI's signal: the recheck completed it.
    ended = stack.sealing.get_workflow_handle(workflow_id, result_type=UnbindingState).result()
    state = await asyncio.wait_for(ended, VISIBILITY_WAIT)
    assert state.status is UnbindStatus.COMPLETED
    assert (OPERATOR, "recheck", True) in [(e.actor, e.action, e.accepted) for e in state.timeline]
    # What the UI sent reached Temporal sealed, by the codec server's /encode.
    history = await stack.plain.get_workflow_handle(workflow_id).fetch_history()
    [signaled] = [
        e.workflow_execution_signaled_event_attributes
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert signaled.signal_name == "recheck"
    assert [sealed(p) for p in signaled.input.payloads] == [True]
    assert b"ui-sealed-recheck-1" not in signaled.SerializeToString()
