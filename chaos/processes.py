"""A process that locks the partner center's SQLite file: the fault of the
"database locked" scenario. The dev server, the worker and the PostgreSQL
cluster the suite breaks are the local stack's (``starter.devstack``)."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path

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
