"""A worker in a process of its own: ``python worker.py`` as operators run it,
or a harness's own worker module, in an isolated environment pointed at one
server, task queue and database."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from starter.devstack.environment import isolated_environment
from starter.devstack.process import ROOT, ChildProcess, StackFailed

START_TIMEOUT = 30.0
"""Seconds for a worker to start polling its task queue."""
POLL_EVERY = 0.25
ANSWER_TIMEOUT = timedelta(seconds=5)
"""A server that was just killed does not answer at all."""


class WorkerProcess(ChildProcess):
    """``command`` (default ``python worker.py``) with ``TEMPORAL_ADDRESS``,
    ``UNBIND_TASK_QUEUE`` and ``UNBIND_DATABASE_URL`` set and nothing else of
    the caller's Temporal or ``UNBIND_*`` settings."""

    def __init__(
        self,
        *,
        address: str,
        task_queue: str,
        database_url: str,
        payload_keys: str | None = None,
        log_path: Path,
        command: Sequence[str] | None = None,
        name: str = "worker",
    ) -> None:
        self.task_queue = task_queue
        super().__init__(
            name,
            command or [sys.executable, str(ROOT / "worker.py")],
            log_path=log_path,
            env=isolated_environment(
                address=address,
                task_queue=task_queue,
                database_url=database_url,
                payload_keys=payload_keys,
            ),
        )

    async def start_polling(self, client: Client, *, within: float = START_TIMEOUT) -> None:
        """Start it and wait until it polls; stopped again if it does not in time."""
        self.start()
        if not await self.polling(client, within=within):
            if not self.running:
                raise self.died()
            self.stop()
            raise StackFailed(
                f"the {self.name} did not poll task queue {self.task_queue!r} within "
                f"{within:g}s; last lines of its log:\n{self.tail()}"
            )

    async def polling(self, client: Client, *, within: float) -> bool:
        """Wait until this start of the worker polls its task queue: the server
        lists a poller with its default identity (pid@host). False if it died
        or did not get there in time (a server that does not answer counts as
        not yet)."""
        request = DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=self.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
        loop = asyncio.get_running_loop()
        give_up = loop.time() + within
        while self.running and loop.time() < give_up:
            identity = f"{self.pid}@{socket.gethostname()}"
            try:
                described = await client.workflow_service.describe_task_queue(
                    request, timeout=ANSWER_TIMEOUT
                )
            except Exception:
                described = None
            if described is not None and any(p.identity == identity for p in described.pollers):
                return True
            await asyncio.sleep(POLL_EVERY)
        return False
