"""Encrypted payloads in the Web UI: a dev server started by the dev stack
with ``--ui-codec-endpoint`` pointing at a real codec server process, a
worker sealing every payload, and Chromium reading the workflow page. The
operator sees the application's input in the clear; Temporal's own history
holds only ciphertext."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect
from temporalio.client import Client

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.devstack.codec_process import CodecServerProcess
from starter.devstack.ports import HOST, free_port
from starter.devstack.server import DevServer
from starter.payload_codec import EncryptionCodec, data_converter_with, parse_payload_keys
from tests.browser.conftest import screenshot
from tests.conftest import Ledger, running_worker
from tests.test_no_secrets_in_history import history_corpus
from workflows.model import UnbindStatus

pytestmark = [pytest.mark.browser, pytest.mark.integration]

KEYS = f"browser-1:{base64.b64encode(os.urandom(32)).decode()}"
REASON = "contract ends: Pangolin-Canary-2284"


@dataclass(frozen=True)
class SealedStack:
    plain: Client
    """No codec: what Temporal itself holds."""
    sealing: Client
    ui_url: str
    codec: CodecServerProcess


@pytest_asyncio.fixture
async def sealed_stack(chromium: Path, tmp_path: Path) -> AsyncIterator[SealedStack]:
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
        config = plain.config()
        config["data_converter"] = data_converter_with(EncryptionCodec(parse_payload_keys(KEYS)))
        yield SealedStack(plain=plain, sealing=Client(**config), ui_url=ui_url, codec=codec)
    finally:
        server.stop()
        codec.stop()


async def test_the_web_ui_shows_the_decoded_input_while_history_holds_ciphertext(
    page: Page,
    sealed_stack: SealedStack,
    partner_center: SqlPartnerCenter,
    executor: ThreadPoolExecutor,
    ledger: Ledger,
) -> None:
    parties = ledger.direct(card=True)
    async with running_worker(sealed_stack.sealing, partner_center, executor) as worker:
        unbinding = UnbindingClient(sealed_stack.sealing, task_queue=worker.task_queue)
        applied = await unbinding.apply(
            customer_uin=parties.customer,
            initiator_uin=parties.reseller,
            notice_acknowledged=True,
            reason=REASON,
        )
        assert applied.status is UnbindStatus.PENDING_CUSTOMER_CONFIRMATION, applied

        page_url = f"{sealed_stack.ui_url}/namespaces/default/workflows/{applied.workflow_id}"
        decoded = []
        page.on(
            "response",
            lambda r: (
                decoded.append(r.status) if r.url.startswith(sealed_stack.codec.url) else None
            ),
        )
        await page.goto(page_url)
        main = page.locator("main")
        # The input, decoded by the codec server in the browser.
        await expect(main.get_by_text(REASON).first).to_be_visible()
        await expect(
            main.get_by_text(f'"customer_uin": "{parties.customer}"').first
        ).to_be_visible()
        await screenshot(page, "encrypted-payloads-decoded-input")
        assert 200 in decoded, decoded

        history = await sealed_stack.plain.get_workflow_handle(applied.workflow_id).fetch_history()
    raw = history_corpus(history)
    assert REASON not in raw
    assert "binary/encrypted" in raw
