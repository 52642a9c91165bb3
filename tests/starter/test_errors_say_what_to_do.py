"""Errors an operator meets first, each saying what to do: Temporal not
running, no worker polling, a database that cannot be opened, where the
default database lives, and which version runs. The real ``unbind`` and
``python worker.py`` as subprocesses."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sql.database import default_database_path
from starter.client import UnbindingClient
from starter.devstack.database import migrated
from starter.devstack.environment import isolated_environment
from starter.devstack.ports import free_port
from starter.devstack.process import ROOT
from starter.health import polling_identities
from tests.cli import run_unbind
from tests.conftest import eventually, fresh_uin
from workflows.contract import workflow_id_for

WORKER_TIMEOUT = 60.0
"""Seconds ``worker.py`` may take to give up on a broken setting."""


def environment(address: str, database_url: str, task_queue: str = "unbinding") -> dict[str, str]:
    return isolated_environment(address=address, task_queue=task_queue, database_url=database_url)


async def run_worker(env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "worker.py"),
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), WORKER_TIMEOUT)
    assert process.returncode is not None
    return process.returncode, err.decode()


async def test_version() -> None:
    shown = await run_unbind({}, "--version", json=False)
    assert shown.code == 0
    assert shown.stdout.strip() == f"unbind, version {version('reseller-unbinding')}"


async def test_temporal_unreachable_names_the_address_and_how_to_start_a_server(
    tmp_path: Path,
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    env = environment(nowhere, migrated(f"sqlite:///{tmp_path / 'unbind.db'}"))

    status = await run_unbind(env, "status", "--customer", fresh_uin(), json=False)
    assert status.code == 3
    assert status.stderr.strip() == (
        f"unreachable: cannot reach Temporal at {nowhere} (Connection refused); start a local "
        "one with `make server` (or `temporal server start-dev`), or set TEMPORAL_ADDRESS "
        "(or a TEMPORAL_PROFILE) to yours"
    )

    code, stderr = await run_worker(env)
    assert code == 3
    assert (
        stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"error: cannot reach Temporal at {nowhere} (Connection refused); start a local one "
            "with `make server`"
        )
    )
    assert "Traceback" not in stderr


@pytest.mark.integration
async def test_the_cli_says_no_worker_polls_instead_of_waiting_in_silence(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    nobody_polls = f"tq-{uuid.uuid4().hex}"
    env = environment(
        dev_env.client.service_client.config.target_host,
        f"sqlite:///{tmp_path / 'unbind.db'}",
        nobody_polls,
    )
    customer = fresh_uin()
    applied = await run_unbind(
        env,
        "apply",
        "--customer",
        customer,
        "--initiator",
        fresh_uin(),
        "--acknowledge-notice",
        json=False,
    )
    assert applied.code == 3
    # The answer the poller check gives, not the one after the full 30 s wait.
    assert applied.stderr.startswith(
        f"unreachable: no answer for the submission of {workflow_id_for(customer)}: no worker is "
        f"polling task queue {nobody_polls!r}; start a worker on task queue {nobody_polls!r}: "
        "`make worker`"
    )
    assert "within 30 seconds" not in applied.stderr
    assert f"unbind status --customer {customer}" in applied.stderr


@pytest.mark.integration
async def test_a_namespace_that_does_not_exist_is_temporal_misconfigured_not_a_refusal(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """NOT_FOUND about the namespace is exit 3, as for every command; only a
    workflow that is not there is "no application" (exit 1)."""
    address = dev_env.client.service_client.config.target_host
    database_url = migrated(f"sqlite:///{tmp_path / 'unbind.db'}")
    env = {**environment(address, database_url), "TEMPORAL_NAMESPACE": "no-such-namespace"}
    customer = fresh_uin()

    for command in (
        ("status", "--customer", customer),
        ("confirm", "--customer", customer, "--as", customer),
    ):
        result = await run_unbind(env, *command)
        assert result.code == 3, result
        assert "no-such-namespace" in result.data["error"], result

    in_default = await run_unbind(
        environment(address, database_url), "status", "--customer", customer
    )
    assert in_default.code == 1, in_default
    assert in_default.data["error"] == f"no application for customer {customer}"


@pytest.mark.integration
class WatchedClient(UnbindingClient):
    """The client API, telling the test what the server said about pollers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked = asyncio.Event()
        self.answers: list[bool] = []

    async def _anyone_polls(self) -> bool:
        answer = await super()._anyone_polls()
        self.answers.append(answer)
        self.asked.set()
        return answer


@pytest.mark.integration
async def test_a_late_answer_is_still_awaited_while_a_worker_polls(
    dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    """A busy worker is not mistaken for none: the check finds its polls and
    the call goes on waiting for the answer."""
    client = WatchedClient(dev_env.client, task_queue=worker.task_queue)
    await eventually(
        lambda: polling_identities(dev_env.client, worker.task_queue),
        lambda seen: bool(seen["workflow"]),
    )
    late: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    answering = asyncio.create_task(client._answer(late, waiting_for="a slow answer"))
    await client.asked.wait()
    late.set_result("late but answered")
    assert await answering == "late but answered"
    assert client.answers == [True]


async def test_a_database_that_cannot_be_opened_is_one_line_not_a_traceback(
    dev_env: WorkflowEnvironment,
) -> None:
    url = f"postgresql+psycopg://unbind:secret@127.0.0.1:{free_port()}/unbind"
    env = environment(dev_env.client.service_client.config.target_host, url)

    code, stderr = await run_worker(env)
    assert code == 3
    [line] = stderr.strip().splitlines()
    assert line.startswith(
        f"error: cannot open the database postgresql+psycopg://unbind:***@{url.split('@')[1]}: "
    )
    assert "Connection refused" in line
    assert line.endswith("check that it is running and that UNBIND_DATABASE_URL names it")

    listed = await run_unbind(env, "ledger", "show", fresh_uin(), json=False)
    assert listed.code == 3
    [line] = listed.stderr.strip().splitlines()
    assert "UNBIND_DATABASE_URL" in line
    assert "secret" not in line


async def test_a_malformed_database_url_exits_2_naming_the_variable() -> None:
    env = environment(f"127.0.0.1:{free_port()}", "postgres://unbind@db/unbind")
    code, stderr = await run_worker(env)
    assert code == 2
    [line] = stderr.strip().splitlines()
    assert line.startswith("error: UNBIND_DATABASE_URL: postgres:// is not a SQLAlchemy URL")
    assert "use postgresql+psycopg://" in line


async def test_a_malformed_health_address_stops_the_worker_with_the_fix(tmp_path: Path) -> None:
    env = environment(f"127.0.0.1:{free_port()}", f"sqlite:///{tmp_path / 'unbind.db'}")
    env["UNBIND_HEALTH_ADDRESS"] = "8081"
    code, stderr = await run_worker(env)
    assert code == 2
    assert stderr.strip() == (
        "error: UNBIND_HEALTH_ADDRESS: must be HOST:PORT, e.g. 127.0.0.1:8081 (got '8081')"
    )


@pytest.mark.integration
async def test_a_health_port_in_use_stops_the_worker_with_the_fix(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    taken = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    port = taken.sockets[0].getsockname()[1]
    async with taken:
        env = environment(
            dev_env.client.service_client.config.target_host,
            migrated(f"sqlite:///{tmp_path / 'unbind.db'}"),
            f"tq-{uuid.uuid4().hex}",
        )
        env["UNBIND_HEALTH_ADDRESS"] = f"127.0.0.1:{port}"
        code, stderr = await run_worker(env)
    assert code == 2
    [line] = stderr.strip().splitlines()
    assert line.startswith(f"error: UNBIND_HEALTH_ADDRESS: cannot listen on 127.0.0.1:{port} (")
    assert line.endswith("); choose a free port")


def test_the_default_database_does_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    """Asked from two directories, the default is the same absolute file."""
    show = "from starter.configuration import database_url; print(database_url())"
    env = {k: v for k, v in environment("unused", "").items() if k != "UNBIND_DATABASE_URL"}
    answers = {
        subprocess.run(
            [sys.executable, "-c", show], cwd=cwd, env=env, capture_output=True, text=True
        ).stdout.strip()
        for cwd in (ROOT, tmp_path)
    }
    assert answers == {f"sqlite:///{ROOT / 'var' / 'unbind.db'}"}


def test_an_installed_copy_keeps_its_database_in_the_user_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_packages = tmp_path / "site-packages"  # no pyproject.toml: not a checkout
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_database_path(site_packages) == tmp_path / "data/reseller-unbinding/unbind.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_database_path(site_packages) == (
        Path.home() / ".local/share/reseller-unbinding/unbind.db"
    )
