"""A process that locks the partner center's SQLite file: the fault of the
"database locked" scenario. The dev server, the worker and the PostgreSQL
cluster the suite breaks are the local stack's (``starter.devstack``)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

_LOCK_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("CREATE TABLE IF NOT EXISTS chaos_lock (at REAL)")
conn.execute("INSERT INTO chaos_lock VALUES (?)", (time.time(),))
print("locked", flush=True)
sys.stdin.readline()  # a line, or the suite's end (EOF), releases it
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

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Locked for the body of the ``async with``, released on leaving it."""
        holder = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _LOCK_HOLDER,
            str(self.sqlite_file),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert holder.stdin is not None and holder.stdout is not None
        try:
            line = await holder.stdout.readline()
            if line.strip() != b"locked":
                raise RuntimeError("could not lock the partner center database")
            yield
        finally:
            holder.stdin.close()
            await holder.wait()
