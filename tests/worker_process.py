"""``python worker.py`` as operators run it, for tests that read its output."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parent.parent


async def spawn_worker(
    env: WorkflowEnvironment, *, task_queue: str, database_url: str, **variables: str
) -> asyncio.subprocess.Process:
    """The worker, configured from its environment only (plus ``variables``),
    its stdout and stderr together in one pipe."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "worker.py"),
        cwd=ROOT,
        env={
            **os.environ,
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": "default",
            "UNBIND_TASK_QUEUE": task_queue,
            "UNBIND_DATABASE_URL": database_url,
            **variables,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
