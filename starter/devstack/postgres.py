"""A throwaway PostgreSQL cluster (for a test session, a fault scenario):
Debian's binaries
(``apt-get install postgresql``), a temporary data directory, a free loopback
port, trust authentication, durability off (tests need speed, not crash
safety). Each test gets a database of its own, dropped afterwards.

As root, ``initdb`` and ``postgres`` refuse to run, so they run as the
``postgres`` user the Debian package creates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from starter.devstack.ports import HOST, free_port

BINARIES = Path("/usr/lib/postgresql")
SERVICE_USER = "postgres"
START_TIMEOUT_SECONDS = 60
MAX_CONNECTIONS = 400
"""Each test's partner center pools up to 30 connections; CLI runs open more."""
SPEED_OVER_SAFETY = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def _bin_dir() -> Path:
    """The newest installed major version's ``bin`` directory."""
    versions = sorted(
        (p for p in BINARIES.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise RuntimeError(
            f"no PostgreSQL binaries under {BINARIES}: `apt-get install -y postgresql`"
        )
    return versions[-1]


class PostgresCluster:
    """One running cluster; ``create_database`` / ``drop_database`` per test.
    It lives under ``root`` (default: a new temporary directory), removed by
    ``stop``; ``down`` and ``up`` take it away and bring it back, data kept."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="unbind-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._bin = _bin_dir()
        self._as_service_user = os.geteuid() == 0

    def _run(self, program: str, *args: str) -> None:
        command = [str(self._bin / program), *args]
        if self._as_service_user:
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            log = self.root / "postgres.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{program} failed ({done.returncode}): {done.stderr.strip()}\n{tail}"
            )

    def start(self) -> None:
        if self._as_service_user:
            shutil.chown(self.root, user=SERVICE_USER, group=SERVICE_USER)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.up()

    def up(self) -> None:
        """Start the server on the existing data directory."""
        options = [
            f"-p {self.port}",
            f"-c listen_addresses={HOST}",
            f"-c unix_socket_directories={self.root}",
            f"-c max_connections={MAX_CONNECTIONS}",
            *(f"-c {setting}" for setting in SPEED_OVER_SAFETY),
        ]
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "postgres.log"),
            "-o",
            " ".join(options),
            "-t",
            str(START_TIMEOUT_SECONDS),
            "-w",
            "start",
        )

    def down(self) -> None:
        """Stop the server, keeping its data: clients are disconnected at
        once ("fast"), committed work is kept."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(
            host=HOST, port=self.port, user="postgres", dbname="postgres", autocommit=True
        )

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"test_{uuid.uuid4().hex}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        # FORCE: a connection a test leaked must not keep its database alive.
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_cluster(root: Path | None = None) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
