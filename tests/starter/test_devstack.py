"""The local stack the demo, the benchmark, the fault suite and the tests
start: a child process survives kill and restart with one log, a child's
environment is the caller's choice only, and the dev server and a worker
process come up on a file of their own."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

from starter.devstack.environment import isolated_environment
from starter.devstack.ports import HOST, LOWEST_PORT, free_port, port_from_env
from starter.devstack.process import ChildProcess, StackFailed
from starter.devstack.server import DevServer, register_search_attributes
from starter.devstack.worker_process import WorkerProcess
from workflows import search_attributes as sa

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]


def test_a_killed_child_starts_again_and_keeps_one_log(tmp_path: Path) -> None:
    child = ChildProcess("sleeper", SLEEPER, log_path=tmp_path / "logs" / "sleeper.log")
    child.start()
    with pytest.raises(StackFailed):
        child.start()
    child.kill()
    assert not child.running and child.kills == 1
    child.start()
    assert child.stop(timeout=5) is not None and not child.running
    log = child.log_path.read_text()
    assert log.count("==== start") == 2 and "==== start 2:" in log


def test_a_child_sees_none_of_the_callers_temporal_or_unbind_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEMPORAL_API_KEY", "secret")
    monkeypatch.setenv("UNBIND_SOMETHING", "mine")
    env = isolated_environment(address="127.0.0.1:1", task_queue="q", database_url="sqlite://")
    assert "TEMPORAL_API_KEY" not in env and "UNBIND_SOMETHING" not in env
    assert env["TEMPORAL_ADDRESS"] == "127.0.0.1:1" and env["UNBIND_TASK_QUEUE"] == "q"


def test_a_free_port_is_one_no_bind_to_port_0_can_be_given() -> None:
    """Below the kernel's ephemeral range, and free: the dev server's own
    internal ports (bind to port 0) can never take the one we hand it."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = {free_port() for _ in range(20)}
    assert all(LOWEST_PORT <= port < low for port in ports), ports
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((HOST, port))


def test_a_port_variable_that_is_no_port_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNBIND_TEMPORAL_PORT", "70000")
    with pytest.raises(StackFailed, match="not a port number"):
        port_from_env("UNBIND_TEMPORAL_PORT", 7233)


@pytest.mark.integration
async def test_dev_server_and_worker_process_come_up_and_the_server_comes_back(
    tmp_path: Path, database_url: str
) -> None:
    server = DevServer(db_file=tmp_path / "temporal.db")
    try:
        client = await server.start_serving()
        await register_search_attributes(client)  # already known: nothing to add
        worker = WorkerProcess(
            address=server.address,
            task_queue="devstack-test",
            database_url=database_url,
            log_path=tmp_path / "worker.log",
        )
        try:
            await worker.start_polling(client)
        finally:
            assert worker.stop() is not None
        server.kill()
        client = await server.start_serving()
        known = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        assert {key.name for key in sa.ALL} <= set(known.custom_attributes)
    finally:
        server.stop()
