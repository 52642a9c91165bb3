"""The HTTP API in a process of its own (``python -m starter.api``), pointed
at one server, task queue and database, accepting development tokens."""

from __future__ import annotations

import asyncio
import sys
import urllib.request
from pathlib import Path

from starter.devstack.environment import isolated_environment
from starter.devstack.ports import HOST
from starter.devstack.process import ChildProcess, StackFailed

START_TIMEOUT = 30.0
"""Seconds for the API to connect to Temporal and answer /healthz."""
POLL_EVERY = 0.25
PROBE_TIMEOUT = 2.0


class ServingProcess(ChildProcess):
    """A child that serves HTTP at ``url`` and answers ``/healthz`` when ready."""

    port: int

    @property
    def url(self) -> str:
        return api_url(self.port)

    async def start_serving(self, *, within: float = START_TIMEOUT) -> None:
        """Start it and wait until /healthz answers 200; stopped again if not in time."""
        self.start()
        loop = asyncio.get_running_loop()
        give_up = loop.time() + within
        while self.running and loop.time() < give_up:
            if await healthy(self.url):
                return
            await asyncio.sleep(POLL_EVERY)
        if not self.running:
            raise self.died()
        self.stop()
        raise StackFailed(
            f"the {self.name} did not answer {self.url}/healthz within {within:g}s; "
            f"last lines of its log:\n{self.tail()}"
        )


class ApiProcess(ServingProcess):
    """``python -m starter.api`` on ``HOST:port`` with ``UNBIND_API_DEV_TOKENS=1``
    and the development key pair in ``key_dir``."""

    def __init__(
        self,
        *,
        address: str,
        task_queue: str,
        database_url: str,
        payload_keys: str | None = None,
        port: int,
        key_dir: Path,
        log_path: Path,
        web_ui_url: str | None = None,
    ) -> None:
        self.port = port
        env = isolated_environment(
            address=address,
            task_queue=task_queue,
            database_url=database_url,
            payload_keys=payload_keys,
        )
        env.update(
            UNBIND_API_ADDRESS=f"{HOST}:{port}",
            UNBIND_API_DEV_TOKENS="1",
            UNBIND_DEV_KEY_DIR=str(key_dir),
        )
        if web_ui_url:  # the console links each application to its workflow there
            env["UNBIND_TEMPORAL_UI_URL"] = web_ui_url
        super().__init__("API", [sys.executable, "-m", "starter.api"], log_path=log_path, env=env)


def api_url(port: int) -> str:
    return f"http://{HOST}:{port}"


async def healthy(url: str) -> bool:
    """True when ``url``/healthz answers 200 (Temporal and the database up)."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=PROBE_TIMEOUT) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    return await asyncio.to_thread(probe)
