"""Real parts for every test: the Temporal servers shipped as PyPI wheels, a
real partner center per test (SQLite, or PostgreSQL), and a real worker.

The session's exit status (tests/session_exit.py) and its summary of what ran
(tests/session_summary.py) are plugins loaded here."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, update
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from activities.sql.schema import agreements
from starter.devstack.database import migrated
from starter.devstack.postgres import PostgresCluster, postgres_cluster
from starter.devstack.sdk_servers import dev_server_environment, time_skipping_environment
from worker import build_worker
from workflows import waits
from workflows.model import PartnerKind

pytest_plugins = ["tests.session_exit", "tests.session_summary", "tests.workflows.gates"]

# Every hypothesis test starts from this profile (loaded before test modules
# import). The health checks on generation speed fire on a loaded 2-core CI
# machine and say nothing about correctness; a failure prints the blob that
# reproduces it, since CI keeps no example database between runs.
settings.register_profile(
    "unbind",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile("unbind")

_Probed = TypeVar("_Probed")


@pytest_asyncio.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_environment() as env:
        yield env


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    async with dev_server_environment() as env:
        yield env


@pytest.fixture(scope="session")
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=16) as pool:
        yield pool


# ---- the partner center's database ------------------------------------------
# UNBIND_TEST_DATABASE=postgresql runs every test that takes `database_url` (or
# `module_database_url`, or `partner_center`) on a throwaway PostgreSQL cluster
# started for the session (starter/devstack/postgres.py); the default is SQLite.
# Tests about SQLite itself (its file, its locks, the CLI's default path) build
# their own SQLite URL and say so.

TEST_DATABASE = os.environ.get("UNBIND_TEST_DATABASE", "sqlite").lower()
TEST_DATABASES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


@contextmanager
def fresh_database(request: pytest.FixtureRequest, directory: Path) -> Iterator[str]:
    """A new partner-center database on UNBIND_TEST_DATABASE's engine, its
    schema made by the migrations (as ``unbind db upgrade`` makes it), no rows:
    a SQLite file in ``directory``, or a database of its own on the session's
    PostgreSQL cluster, dropped afterwards."""
    with empty_database(request, directory) as url:
        yield migrated(url)


@contextmanager
def empty_database(request: pytest.FixtureRequest, directory: Path) -> Iterator[str]:
    """As :func:`fresh_database`, without any schema (the migration tests)."""
    if TEST_DATABASE not in TEST_DATABASES:
        pytest.fail(f"UNBIND_TEST_DATABASE={TEST_DATABASE!r}: use one of {TEST_DATABASES}")
    if TEST_DATABASE == "sqlite":
        yield f"sqlite:///{directory / 'partner-center.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    name = cluster.create_database()
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty partner-center database for this test."""
    with fresh_database(request, tmp_path) as url:
        yield url


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new database with no schema at all (what ``unbind db upgrade`` starts from)."""
    directory = tmp_path / "empty"  # apart from `database_url`'s file in the same test
    directory.mkdir()
    with empty_database(request, directory) as url:
        yield url


@pytest.fixture(scope="module")
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One partner-center database shared by a module's tests (for generated
    examples that only add rows)."""
    with fresh_database(request, tmp_path_factory.mktemp("module-database")) as url:
        yield url


@pytest.fixture
def partner_center(database_url: str) -> Iterator[SqlPartnerCenter]:
    pc = SqlPartnerCenter(database_url)
    yield pc
    pc.dispose()


@asynccontextmanager
async def running_worker(
    client: Client,
    partner_center: SqlPartnerCenter,
    executor: ThreadPoolExecutor,
    *,
    task_queue: str | None = None,
    **options: object,
) -> AsyncIterator[Worker]:
    worker = build_worker(
        client,
        partner_center,
        task_queue=task_queue or f"tq-{uuid.uuid4().hex}",
        executor=executor,
        **options,
    )
    async with worker:
        yield worker


@pytest_asyncio.fixture
async def worker(
    dev_env: WorkflowEnvironment, partner_center: SqlPartnerCenter, executor: ThreadPoolExecutor
) -> AsyncIterator[Worker]:
    """A real worker on the dev server, on a task queue of its own, for this
    test's partner center."""
    async with running_worker(dev_env.client, partner_center, executor) as running:
        yield running


@pytest.fixture
def lower_history_bound(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Human waits continue as new past ``events`` (for this test only)."""

    def lower(events: int) -> None:
        lowered = dataclasses.replace(waits.SETTINGS, continue_as_new_after_events=events)
        monkeypatch.setattr(waits, "SETTINGS", lowered)

    return lower


async def history_length(handle: WorkflowHandle[Any, Any]) -> int:
    return (await handle.describe()).raw_description.workflow_execution_info.history_length


EVENTUALLY_WITHIN = 10.0
"""Seconds to wait for the dev server's (eventually consistent) list view."""
POLL_EVERY = 0.3


async def eventually(
    probe: Callable[[], Awaitable[_Probed]],
    until: Callable[[_Probed], bool],
    *,
    within: float = EVENTUALLY_WITHIN,
    every: float = POLL_EVERY,
) -> _Probed:
    """Probe until ``until(answer)`` holds; the last answer either way. The
    one poll the tests allow (tests/test_no_fixed_sleeps.py): for what no
    event announces, such as the list view catching up."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    while True:
        answer = await probe()
        if until(answer) or loop.time() >= give_up:
            return answer
        await asyncio.sleep(every)


_uins = itertools.count(
    int(os.environ.get("UNBIND_TEST_UIN_BASE", "30000000000")) + os.getpid() * 1000
)


def fresh_uin() -> str:
    return str(next(_uins))


@dataclass(frozen=True)
class Parties:
    customer: str
    reseller: str
    distributor: str | None = None


class Ledger:
    """Builds partners and customers with fresh UINs in a real partner center."""

    def __init__(self, pc: SqlPartnerCenter) -> None:
        self.pc = pc

    def direct(self, *, card: bool = True) -> Parties:
        reseller = fresh_uin()
        self.pc.add_partner(reseller, kind=PartnerKind.RESELLER)
        customer = fresh_uin()
        self.pc.add_customer(customer, partner_uin=reseller, card=card)
        return Parties(customer=customer, reseller=reseller)

    def second_level(self, *, card: bool = True) -> Parties:
        distributor = fresh_uin()
        self.pc.add_partner(distributor, kind=PartnerKind.DISTRIBUTOR)
        reseller = fresh_uin()
        self.pc.add_partner(
            reseller, kind=PartnerKind.SECOND_LEVEL_RESELLER, distributor_uin=distributor
        )
        customer = fresh_uin()
        self.pc.add_customer(customer, partner_uin=reseller, card=card)
        return Parties(customer=customer, reseller=reseller, distributor=distributor)

    def moved_to_another_reseller(self, customer: str, database_url: str) -> str:
        """Behind the process's back, the customer's agreement now names another
        reseller (a conflicting change in the partner center): that reseller."""
        other = fresh_uin()
        self.pc.add_partner(other, kind=PartnerKind.RESELLER)
        engine = create_engine(database_url)
        try:
            with engine.begin() as conn:
                conn.execute(
                    update(agreements)
                    .where(agreements.c.customer_uin == customer)
                    .values(partner_uin=other)
                )
        finally:
            engine.dispose()
        return other


@pytest.fixture
def ledger(partner_center: SqlPartnerCenter) -> Ledger:
    return Ledger(partner_center)
