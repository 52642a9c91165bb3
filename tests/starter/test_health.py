"""The worker's health on the dev server: ``/healthz`` and ``/readyz`` served
by a real worker, and ``unbind health`` run as a subprocess, ready with a
polling worker and not ready (exit 3, the failing check named) without one or
without its database. The pollers check asks a dropped describe once more:
shown through a gRPC front that fails the server's answers on cue."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from starter.devstack.database import migrated
from starter.devstack.environment import isolated_environment
from starter.devstack.ports import free_port
from starter.devstack.postgres import postgres_cluster
from starter.devstack.worker_process import WorkerProcess
from starter.health import (
    UNHEALTHY_EXIT,
    pollers_check,
    polling_identities,
    serve_health,
    worker_readiness,
)
from tests.cli import run_unbind
from tests.conftest import eventually, running_worker
from tests.grpc_proxy import GrpcFront

pytestmark = pytest.mark.integration
HOST = "127.0.0.1"


def address_of(dev_env: WorkflowEnvironment) -> str:
    return dev_env.client.service_client.config.target_host


def environment(dev_env: WorkflowEnvironment, task_queue: str, database_url: str) -> dict[str, str]:
    return isolated_environment(
        address=address_of(dev_env), task_queue=task_queue, database_url=database_url
    )


async def http_get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    """One GET on 127.0.0.1:port, as a probe sends it: (status, JSON body)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def checks_of(body: dict[str, Any]) -> dict[str, bool]:
    return {check["name"]: check["ok"] for check in body["checks"]}


@pytest_asyncio.fixture
async def health_port(worker: Worker, partner_center: SqlPartnerCenter) -> AsyncIterator[int]:
    """The test's worker serving its health on a port of its own."""
    port = free_port()
    server = await serve_health(
        HOST,
        port,
        readiness=lambda: worker_readiness(worker, partner_center.ping, partner_center.url),
    )
    async with server:
        yield port


@pytest_asyncio.fixture
async def front(dev_env: WorkflowEnvironment) -> AsyncIterator[GrpcFront]:
    """The dev server behind a gRPC front that fails chosen calls."""
    front = await GrpcFront(upstream=address_of(dev_env)).start()
    try:
        yield front
    finally:
        await front.stop()


async def client_through(front: GrpcFront) -> Client:
    return await Client.connect(front.address, namespace="default")


async def test_a_dropped_describe_is_asked_once_more(worker: Worker, front: GrpcFront) -> None:
    client = await client_through(front)
    await eventually(lambda: pollers_check(client, worker.task_queue), lambda check: check.ok)
    front.calls.clear()

    front.fail_next("DescribeTaskQueue", grpc.StatusCode.CANCELLED)
    check = await pollers_check(client, worker.task_queue)

    assert check.ok, check
    # The workflow queue's describe dropped, asked again; then the activity queue's.
    assert front.calls["DescribeTaskQueue"] == [
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.OK,
        grpc.StatusCode.OK,
    ]


async def test_a_describe_dropped_twice_fails_the_pollers_check(
    worker: Worker, front: GrpcFront
) -> None:
    client = await client_through(front)
    front.fail_next("DescribeTaskQueue", grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE)

    check = await pollers_check(client, worker.task_queue)

    assert not check.ok
    assert f"cannot describe task queue {worker.task_queue!r}" in check.detail
    assert front.calls["DescribeTaskQueue"] == [grpc.StatusCode.UNAVAILABLE] * 2


async def test_a_refused_describe_is_not_asked_again(worker: Worker, front: GrpcFront) -> None:
    """Only a dropped call is asked again: a refusal would be refused again."""
    client = await client_through(front)
    front.fail_next("DescribeTaskQueue", grpc.StatusCode.PERMISSION_DENIED)

    check = await pollers_check(client, worker.task_queue)

    assert not check.ok
    assert front.calls["DescribeTaskQueue"] == [grpc.StatusCode.PERMISSION_DENIED]


async def test_a_polling_worker_with_its_database_is_live_and_ready(
    worker: Worker, health_port: int
) -> None:
    status, live = await http_get(health_port, "/healthz")
    assert (status, live["ok"]) == (200, True)

    # Ready once the server has seen the new worker's first polls.
    status, ready = await eventually(
        lambda: http_get(health_port, "/readyz"), lambda answer: answer[0] == 200
    )
    assert status == 200, ready
    assert checks_of(ready) == {"worker": True, "pollers": True, "database": True}


async def test_unknown_paths_are_not_found(health_port: int) -> None:
    status, body = await http_get(health_port, "/metrics")
    assert status == 404
    assert "/readyz" in body["error"]


async def test_unbind_health_is_ready_with_a_running_worker(
    dev_env: WorkflowEnvironment, worker: Worker, database_url: str, health_port: int
) -> None:
    env = environment(dev_env, worker.task_queue, database_url)
    await eventually(lambda: http_get(health_port, "/readyz"), lambda answer: answer[0] == 200)

    checked = await run_unbind(env, "health", json=False)
    assert checked.code == 0, checked.stdout + checked.stderr
    assert [line.split()[:2] for line in checked.stdout.splitlines()] == [
        ["ok", "temporal:"],
        ["ok", "pollers:"],
        ["ok", "database:"],
    ]

    asked = await run_unbind(env, "health", "--endpoint", f"{HOST}:{health_port}")
    assert asked.code == 0, asked.stdout + asked.stderr
    assert checks_of(asked.data) == {"worker": True, "pollers": True, "database": True}


async def test_unbind_health_says_no_worker_polls(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    nobody_polls = f"tq-{uuid.uuid4().hex}"
    env = environment(dev_env, nobody_polls, database_url)

    checked = await run_unbind(env, "health", json=False)
    assert checked.code == UNHEALTHY_EXIT
    failed = [line for line in checked.stdout.splitlines() if line.startswith("FAIL")]
    assert failed == [
        f"FAIL pollers: no workflow or activity task poller from a worker on "
        f"task queue {nobody_polls!r}"
    ]
    assert "make worker" in checked.stdout

    as_json = await run_unbind(env, "health")
    assert as_json.code == UNHEALTHY_EXIT
    assert checks_of(as_json.data) == {"temporal": True, "pollers": False, "database": True}


async def test_unbind_health_says_the_database_does_not_answer(
    dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    nowhere = f"postgresql+psycopg://unbind:secret@{HOST}:{free_port()}/unbind"
    env = environment(dev_env, worker.task_queue, nowhere)
    await eventually(
        lambda: polling_identities(dev_env.client, worker.task_queue),
        lambda seen: bool(seen["workflow"]),
    )

    checked = await run_unbind(env, "health", json=False)
    assert checked.code == UNHEALTHY_EXIT
    failed = [line for line in checked.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1
    assert failed[0].startswith("FAIL database:")
    assert "Connection refused" in failed[0]
    assert "secret" not in checked.stdout
    assert "fix: start the database, or fix UNBIND_DATABASE_URL" in checked.stdout


async def test_a_worker_whose_database_goes_down_is_not_ready(
    dev_env: WorkflowEnvironment, executor: ThreadPoolExecutor
) -> None:
    with postgres_cluster() as cluster:
        url = migrated(cluster.url(cluster.create_database()))
        pc = SqlPartnerCenter(url)
        try:
            async with running_worker(dev_env.client, pc, executor) as worker:

                async def readiness() -> dict[str, bool]:
                    health = await worker_readiness(worker, pc.ping, pc.url)
                    return checks_of(health.as_json())

                ready = {"worker": True, "pollers": True, "database": True}
                assert await eventually(readiness, lambda checks: checks == ready) == ready
                cluster.down()
                assert await readiness() == {"worker": True, "pollers": True, "database": False}
                cluster.up()
                assert await eventually(readiness, lambda checks: checks == ready) == ready
        finally:
            pc.dispose()


async def test_worker_py_serves_its_health_until_it_stops(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    """The real ``python worker.py`` with UNBIND_HEALTH_ADDRESS, probed the way
    a container's health check does: ``unbind health --endpoint``."""
    task_queue = f"tq-{uuid.uuid4().hex}"
    process = WorkerProcess(
        address=address_of(dev_env),
        task_queue=task_queue,
        database_url=database_url,
        log_path=tmp_path / "worker.log",
    )
    endpoint = f"{HOST}:{free_port()}"
    assert process.env is not None
    process.env["UNBIND_HEALTH_ADDRESS"] = endpoint
    env = environment(dev_env, task_queue, database_url)
    await process.start_polling(dev_env.client)
    try:
        ready = await run_unbind(env, "health", "--endpoint", endpoint)
        assert ready.code == 0, process.tail()
        assert checks_of(ready.data) == {"worker": True, "pollers": True, "database": True}
    finally:
        process.stop()

    gone = await run_unbind(env, "health", "--endpoint", endpoint, json=False)
    assert gone.code == UNHEALTHY_EXIT
    assert gone.stdout.startswith(f"FAIL endpoint: no answer from http://{endpoint}/readyz")
    assert "UNBIND_HEALTH_ADDRESS" in gone.stdout
