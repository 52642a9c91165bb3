"""The HTTP API live: uvicorn in this process on a free port, over the dev
server, a real worker that requires signed actions, and the test's partner
center; development tokens from a key pair made for the test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from starter.api.app import create_app
from starter.api.devkeys import DEV_KEY_DIR_VARIABLE, issue_dev_token
from starter.api.settings import ApiSettings
from starter.devstack.ports import HOST, free_port
from starter.signing import KEYS_VARIABLE
from starter.telemetry import Telemetry
from tests.conftest import eventually, running_worker
from tests.workflows.signing_keys import NEW_ENTRY, REQUIRED

START_WITHIN = 15.0


@pytest.fixture
def dev_key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "dev-keys"
    monkeypatch.setenv(DEV_KEY_DIR_VARIABLE, str(directory))
    return directory


@dataclass
class LiveApi:
    http: httpx.AsyncClient
    base_url: str

    def headers(
        self, account: str | None = None, *, operator: str | None = None, key: str | None = None
    ) -> dict[str, str]:
        token = issue_dev_token(account=account, operator=operator)
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers


@pytest.fixture
def api_temporal(dev_env: WorkflowEnvironment) -> Client:
    """The client the API and the worker use (a test module may trace it)."""
    return dev_env.client


@pytest.fixture
def api_telemetry() -> Telemetry | None:
    """The API's telemetry (``starter.telemetry``): none unless a module says."""
    return None


@pytest_asyncio.fixture
async def signing_worker(
    api_temporal: Client,
    partner_center: SqlPartnerCenter,
    executor: ThreadPoolExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Worker]:
    """A worker that refuses a party's unsigned action; the API signs with the
    key it verifies (UNBIND_ACTION_SIGNING_KEYS, as a deployment shares it)."""
    monkeypatch.setenv(KEYS_VARIABLE, NEW_ENTRY)
    async with running_worker(api_temporal, partner_center, executor, signing=REQUIRED) as running:
        yield running


@pytest_asyncio.fixture
async def live_api(
    api_temporal: Client,
    api_telemetry: Telemetry | None,
    signing_worker: Worker,
    database_url: str,
    dev_key_dir: Path,
) -> AsyncIterator[LiveApi]:
    port = free_port()
    app = create_app(
        ApiSettings(host=HOST, port=port, dev_tokens_requested=True),
        temporal=api_temporal,
        task_queue=signing_worker.task_queue,
        database=database_url,
        telemetry=api_telemetry,
    )
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning"))
    serving = asyncio.ensure_future(server.serve())

    async def started() -> bool:
        if serving.done():
            serving.result()  # raises what stopped the server from starting
        return bool(server.started)

    if not await eventually(started, bool, within=START_WITHIN):
        pytest.fail("the API did not start")
    base_url = f"http://{HOST}:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            yield LiveApi(http=http, base_url=base_url)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, 10)
