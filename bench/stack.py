"""What a benchmark run measures its processes with, and how it starts its
workers (``python -m bench.worker``) on the local stack (``starter.devstack``)."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from starter.devstack.process import ChildProcess, StackFailed
from starter.devstack.worker_process import WorkerProcess

SERVER_START_TIMEOUT = 60.0
WORKER_START_TIMEOUT = 60.0

TROUBLE = re.compile(
    r"database is locked|deadlock|Traceback|\bERROR\b|Failed activation|"
    r"Failed running eviction|failed completing activation",
    re.IGNORECASE,
)
"""Lines in a worker log that mean the run was not clean."""


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise StackFailed(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5); fields[0] is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def trouble(child: ChildProcess) -> list[str]:
    """The lines of the child's log that mean the run was not clean."""
    text = child.log_path.read_text(errors="replace").splitlines()
    return [line for line in text if TROUBLE.search(line)]


@dataclass(frozen=True)
class WorkerSpec:
    kind: str
    address: str
    task_queue: str
    database_url: str
    max_cached_workflows: int | None = None
    tracemalloc_dir: Path | None = None
    activity_timing: Path | None = None


async def start_worker(
    spec: WorkerSpec, client: Client, *, name: str, run_dir: Path
) -> WorkerProcess:
    """A ``bench.worker`` process, once it polls its task queue."""
    args = [
        sys.executable,
        "-m",
        "bench.worker",
        "--kind",
        spec.kind,
        "--address",
        spec.address,
        "--task-queue",
        spec.task_queue,
        "--database-url",
        spec.database_url,
    ]
    if spec.max_cached_workflows is not None:
        args += ["--max-cached-workflows", str(spec.max_cached_workflows)]
    if spec.tracemalloc_dir is not None:
        spec.tracemalloc_dir.mkdir(parents=True, exist_ok=True)
        args += ["--tracemalloc-dir", str(spec.tracemalloc_dir)]
    if spec.activity_timing is not None:
        args += ["--activity-timing", str(spec.activity_timing)]
    worker = WorkerProcess(
        address=spec.address,
        task_queue=spec.task_queue,
        database_url=spec.database_url,
        log_path=run_dir / f"{name}.log",
        command=args,
        name=name,
    )
    await worker.start_polling(client, within=WORKER_START_TIMEOUT)
    return worker
