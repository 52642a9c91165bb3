"""The Temporal Web UI in a real browser: a dev server with its UI on a free
port, a real worker per test, and Debian's Chromium driven by Playwright.

Chromium is never downloaded: the tests use ``/usr/bin/chromium`` (CI installs
it with apt). Without it they fail with a clear message rather than pass
silently; ``UNBIND_SKIP_BROWSER_TESTS=1`` turns that into an explicit skip for
a machine that cannot have a browser.

Playwright's async API shares pytest-asyncio's session loop with the worker,
so the worker keeps answering while the browser waits for the page.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    async_playwright,
    expect,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from starter.client import UnbindingClient
from starter.devstack.ports import HOST, free_port
from starter.devstack.sdk_servers import dev_server_environment
from tests.conftest import running_worker

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "browser"

CHROMIUM = Path(os.environ.get("UNBIND_CHROMIUM", "/usr/bin/chromium"))
SKIP_VARIABLE = "UNBIND_SKIP_BROWSER_TESTS"
# What NOTES.md found to work for headless Debian Chromium run as root in CI.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
)
VIEWPORT = ViewportSize(width=1400, height=1000)
UI_TIMEOUT_MS = 20_000
"""How long one browser step or assertion may wait for the UI (generous: CI
machines are small and the dev server shares them)."""
expect.set_options(timeout=UI_TIMEOUT_MS)


@dataclass(frozen=True)
class WebUi:
    """A dev server with its Web UI."""

    env: WorkflowEnvironment
    url: str

    def workflow_page(self, workflow_id: str) -> str:
        return f"{self.url}/namespaces/{self.env.client.namespace}/workflows/{workflow_id}"

    def list_page(self) -> str:
        return f"{self.url}/namespaces/{self.env.client.namespace}/workflows"


@pytest.fixture(scope="session")
def chromium() -> Path:
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"browser tests skipped on request ({SKIP_VARIABLE}=1)")
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} not found: the Web UI tests need Debian's Chromium "
            f"(`apt-get install -y chromium`; .ci/run installs it), or set "
            f"{SKIP_VARIABLE}=1 to skip them on purpose",
            pytrace=False,
        )
    return CHROMIUM


@pytest_asyncio.fixture(scope="session")
async def web_ui(chromium: Path) -> AsyncIterator[WebUi]:
    """A dev server of its own with the UI on: the other suites keep theirs headless."""
    ui_port = free_port()
    async with dev_server_environment(ui=True, ui_port=ui_port) as env:
        yield WebUi(env=env, url=f"http://{HOST}:{ui_port}")


@pytest_asyncio.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as driver:
        yield driver


@pytest_asyncio.fixture(scope="session")
async def browser(playwright: Playwright, chromium: Path) -> AsyncIterator[Browser]:
    launched = await playwright.chromium.launch(
        executable_path=str(chromium), args=list(CHROMIUM_ARGS)
    )
    try:
        yield launched
    finally:
        await launched.close()


@pytest_asyncio.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser context per test: no saved views or settings carry over."""
    context: BrowserContext = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(UI_TIMEOUT_MS)
    opened = await context.new_page()
    try:
        yield opened
    finally:
        await context.close()


@pytest_asyncio.fixture
async def worker(
    web_ui: WebUi, partner_center: SqlPartnerCenter, executor: ThreadPoolExecutor
) -> AsyncIterator[Worker]:
    async with running_worker(web_ui.env.client, partner_center, executor) as running:
        yield running


@pytest.fixture
def unbinding(web_ui: WebUi, worker: Worker) -> UnbindingClient:
    """The typed client API, on this test's worker: sets the scene for the UI."""
    return UnbindingClient(web_ui.env.client, task_queue=worker.task_queue)


async def screenshot(page: Page, name: str) -> Path:
    """Saves the page under artifacts/browser/ (ignored by git) for a human to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


WORKFLOW_LINK = re.compile(r"/workflows/(unbind-\d+)/")


async def listed_workflow_ids(page: Page) -> set[str]:
    """The workflow ids the list page shows, read from the rows' links (a row's
    text is overlaid by its batch checkbox label)."""
    hrefs: Iterable[str | None] = await page.locator(
        'table a[href*="/workflows/unbind-"]'
    ).evaluate_all("links => links.map(link => link.getAttribute('href'))")
    return {match.group(1) for href in hrefs if href and (match := WORKFLOW_LINK.search(href))}
