"""The processes a benchmark run starts: a Temporal dev server with its own
persistent file, and worker processes, each with a log the run reads back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
SERVER_START_TIMEOUT = 60.0
WORKER_START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
POLL_EVERY = 0.1

TROUBLE = re.compile(
    r"database is locked|deadlock|Traceback|\bERROR\b|Failed activation|"
    r"Failed running eviction|failed completing activation",
    re.IGNORECASE,
)
"""Lines in a worker log that mean the run was not clean."""


class StackFailed(Exception):
    """A process the benchmark needs could not start or died."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((HOST, port)) == 0


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


@dataclass
class Child:
    """A started process and its log file."""

    name: str
    log_path: Path
    process: subprocess.Popen[bytes]
    log: IO[bytes] = field(repr=False)

    @classmethod
    def start(cls, name: str, args: list[str], *, log_dir: Path) -> Child:
        log_path = log_dir / f"{name}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return cls(name, log_path, process, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def died(self) -> StackFailed:
        return StackFailed(
            f"{self.name} exited early (code {self.process.returncode}); see {self.log_path}:\n"
            + self.tail()
        )

    def tail(self, lines: int = 20) -> str:
        if not self.log.closed:
            self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def trouble(self) -> list[str]:
        if not self.log.closed:
            self.log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in text if TROUBLE.search(line)]

    def stop(self) -> int | None:
        """SIGTERM, wait, SIGKILL if it would not go; the exit code."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


def _binary(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if not beside.exists():
        raise StackFailed(f"{name} not found next to {sys.executable}: run `make venv`")
    return str(beside)


async def start_server(*, run_dir: Path, port: int, pragmas: list[str]) -> Child:
    """``temporal server start-dev`` on a fresh file in ``run_dir``, headless."""
    args = [
        _binary("temporal"),
        "server",
        "start-dev",
        "--ip",
        HOST,
        "--port",
        str(port),
        "--headless",
        "--db-filename",
        str(run_dir / "temporal.db"),
        "--log-level",
        "error",
        *sa.registration_flags(),
    ]
    for pragma in pragmas:
        args += ["--sqlite-pragma", pragma]
    server = Child.start("temporal-server", args, log_dir=run_dir)
    give_up = time.monotonic() + SERVER_START_TIMEOUT
    while not _listening(port):
        if not server.alive():
            raise server.died()
        if time.monotonic() > give_up:
            server.stop()
            raise StackFailed(f"the dev server did not listen on {port} in time")
        await asyncio.sleep(POLL_EVERY * 2)
    return server


@dataclass(frozen=True)
class WorkerSpec:
    kind: str
    address: str
    task_queue: str
    database_url: str
    max_cached_workflows: int | None = None
    tracemalloc_dir: Path | None = None


async def start_worker(spec: WorkerSpec, *, name: str, run_dir: Path) -> Child:
    ready = run_dir / f"{name}.ready"
    ready.unlink(missing_ok=True)
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
        "--ready-file",
        str(ready),
    ]
    if spec.max_cached_workflows is not None:
        args += ["--max-cached-workflows", str(spec.max_cached_workflows)]
    if spec.tracemalloc_dir is not None:
        spec.tracemalloc_dir.mkdir(parents=True, exist_ok=True)
        args += ["--tracemalloc-dir", str(spec.tracemalloc_dir)]
    child = Child.start(name, args, log_dir=run_dir)
    give_up = time.monotonic() + WORKER_START_TIMEOUT
    while not ready.exists():
        if not child.alive():
            raise child.died()
        if time.monotonic() > give_up:
            child.stop()
            raise StackFailed(f"{name} did not start polling in time")
        await asyncio.sleep(POLL_EVERY)
    return child
