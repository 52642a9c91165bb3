"""Real parts for every test: the Temporal servers shipped as PyPI wheels, a
real SQLite partner center per test, and a real worker."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, settings
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from starter.devstack.postgres import PostgresCluster, postgres_cluster
from starter.devstack.sdk_servers import dev_server_environment, time_skipping_environment
from worker import build_worker
from workflows.model import PartnerKind

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
# UNBIND_TEST_DATABASE=postgresql runs every test that takes `database_url`
# (integration, activities, workflows) on a throwaway PostgreSQL cluster
# started for the session (starter/devstack/postgres.py); the default is SQLite.

TEST_DATABASE = os.environ.get("UNBIND_TEST_DATABASE", "sqlite").lower()
TEST_DATABASES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty partner-center database for this test."""
    if TEST_DATABASE not in TEST_DATABASES:
        pytest.fail(f"UNBIND_TEST_DATABASE={TEST_DATABASE!r}: use one of {TEST_DATABASES}")
    if TEST_DATABASE == "sqlite":
        yield f"sqlite:///{tmp_path / 'partner-center.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    name = cluster.create_database()
    yield cluster.url(name)
    cluster.drop_database(name)


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


@pytest.fixture
def ledger(partner_center: SqlPartnerCenter) -> Ledger:
    return Ledger(partner_center)


_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # temporalio/sdk-python#300: the core's threads can abort interpreter
    # shutdown (exit 134) after every test has run; leave with the real status.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)
