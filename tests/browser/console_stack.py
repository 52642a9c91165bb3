"""The web console on a live stack: the Web UI's dev server, ``python
worker.py`` requiring signed actions, and ``python -m starter.api`` with
development tokens (the demo's sign-in) and a link to the Web UI, sharing one
SQLite partner center with the test.

Parties are made with fresh UINs per test (``parties``), so tests never see
each other's applications. People sign in through the console's own sign-in
page, each in a browser context of their own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Locator, Page, expect

from activities.sql import SqlPartnerCenter
from starter.devstack.database import migrated
from starter.devstack.environment import isolated_environment
from tests.api.conftest import signed_actions_worker, signing_keys, start_api
from tests.browser.conftest import UI_TIMEOUT_MS, VIEWPORT, WebUi
from tests.conftest import fresh_uin
from workflows.model import PartnerKind

ROOT = Path(__file__).resolve().parents[2]
# The screenshots docs/CONSOLE.md shows are made by these tests. A plain run
# keeps them under artifacts/ so that testing leaves the tree clean;
# UNBIND_UPDATE_DOC_IMAGES=1 writes them over docs/images/ to refresh the docs.
IMAGES = (
    ROOT / "docs" / "images"
    if os.environ.get("UNBIND_UPDATE_DOC_IMAGES") == "1"
    else ROOT / "artifacts" / "console-images"
)
SERIOUS = {"serious", "critical"}


@dataclass(frozen=True)
class ConsoleStack:
    url: str
    """The console's root page."""
    partner_center: SqlPartnerCenter
    web_ui: WebUi
    dev_key_dir: Path
    """The API's development key pair: tokens as an identity provider would give."""


@pytest_asyncio.fixture(scope="session")
async def console_stack(
    web_ui: WebUi, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ConsoleStack]:
    run_dir = tmp_path_factory.mktemp("console-stack")
    database_url = migrated(f"sqlite:///{run_dir / 'partner-center.db'}")
    partner_center = SqlPartnerCenter(database_url)
    partner_center.seed_demo()  # the sign-in page offers the demo's accounts
    address = web_ui.env.client.service_client.config.target_host
    task_queue = f"console-{uuid.uuid4().hex}"
    env = isolated_environment(address=address, task_queue=task_queue, database_url=database_url)
    env["UNBIND_ACTION_SIGNING_KEYS"] = signing_keys()
    worker = signed_actions_worker(env, run_dir / "worker.log")
    await worker.start_polling(web_ui.env.client)
    api = start_api(
        env={
            **env,
            "UNBIND_API_DEV_TOKENS": "1",
            "UNBIND_DEV_KEY_DIR": str(run_dir / "dev-keys"),
            "UNBIND_TEMPORAL_UI_URL": web_ui.url,
        },
        log_path=run_dir / "api.log",
        name="console-api",
    )
    try:
        await api.wait_until_healthy()
        yield ConsoleStack(f"{api.base_url}/console", partner_center, web_ui, run_dir / "dev-keys")
    finally:
        api.child.stop()
        worker.stop()
        partner_center.dispose()


@dataclass(frozen=True)
class Parties:
    """A distributor, its second-level reseller with a sub-user, and two
    customers of that reseller; another reseller with a customer of its own."""

    distributor: str
    reseller: str
    sub_user: str
    customer: str
    second_customer: str
    other_reseller: str
    other_customer: str


@pytest.fixture
def parties(console_stack: ConsoleStack) -> Parties:
    pc = console_stack.partner_center
    p = Parties(*(fresh_uin() for _ in range(7)))
    pc.add_partner(p.distributor, kind=PartnerKind.DISTRIBUTOR)
    pc.add_partner(
        p.reseller, kind=PartnerKind.SECOND_LEVEL_RESELLER, distributor_uin=p.distributor
    )
    pc.add_subuser(p.sub_user, owner_uin=p.reseller)
    pc.add_partner(p.other_reseller, kind=PartnerKind.RESELLER)
    for customer, partner in (
        (p.customer, p.reseller),
        (p.second_customer, p.reseller),
        (p.other_customer, p.other_reseller),
    ):
        pc.add_customer(customer, partner_uin=partner, card=False)
        pc.set_account(customer, credit_cents=10_000)
    return p


class Person:
    """One person at the console: a browser context of their own."""

    def __init__(self, page: Page, stack: ConsoleStack) -> None:
        self.page = page
        self.stack = stack

    async def go(self, path: str) -> None:
        await self.page.goto(self.stack.url + path)

    async def sign_in(self, uin: str) -> None:
        await self.go("/sign-in")
        await self.page.get_by_label("Account UIN").fill(uin)
        await self.page.get_by_role("button", name="Sign in", exact=True).click()
        await expect(self.page.get_by_test_id("who")).to_have_text(uin)

    async def tab_to(self, target: Locator, *, at_most: int = 40) -> None:
        """Move the focus with the Tab key alone until ``target`` has it."""
        for _ in range(at_most):
            if await target.evaluate("element => element === document.activeElement"):
                return
            await self.page.keyboard.press("Tab")
        raise AssertionError(f"{target} cannot be reached with the Tab key")

    async def check(self, name: str) -> None:
        """No serious or critical axe-core violation on this page; a
        screenshot of it in IMAGES when ``name`` is given."""
        results = await Axe().run(self.page)
        bad = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
        assert not bad, results.generate_report()
        if name:
            IMAGES.mkdir(parents=True, exist_ok=True)
            await self.page.screenshot(path=str(IMAGES / f"console-{name}.png"), full_page=True)


@pytest_asyncio.fixture
async def people(browser: Browser, console_stack: ConsoleStack) -> AsyncIterator[list[Person]]:
    """Three people, three browser contexts (cookies apart)."""
    contexts = [await browser.new_context(viewport=VIEWPORT) for _ in range(3)]
    try:
        found = []
        for context in contexts:
            context.set_default_timeout(UI_TIMEOUT_MS)
            found.append(Person(await context.new_page(), console_stack))
        yield found
    finally:
        for context in contexts:
            await context.close()
