"""SQLite itself, on purpose: a brand-new file's first connections switch it to
WAL, which needs an exclusive lock that SQLite refuses at once (no busy
handler) while another connection holds a write lock. Two upgraders starting
together on a new file met this in CI; the switch now waits a bounded while."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from activities.sql import database
from activities.sql.database import open_engine


def test_a_new_file_locked_by_another_writer_still_switches_to_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # a write lock on a file still in rollback mode
    holder.execute("CREATE TABLE t (x)")
    retried = threading.Event()
    real_sleep = database.time.sleep

    def release_on_first_retry(seconds: float) -> None:
        # The first refusal proves the race; then the other writer finishes.
        if not retried.is_set():
            retried.set()
            holder.execute("COMMIT")
        real_sleep(seconds)

    monkeypatch.setattr(database.time, "sleep", release_on_first_retry)
    engine = open_engine(f"sqlite:///{path}", pool_size=1)
    try:
        with engine.connect() as conn:
            mode = conn.execute(text("PRAGMA journal_mode")).scalar()
    finally:
        engine.dispose()
        holder.close()
    assert retried.is_set(), "the switch to WAL was never refused: this test proved nothing"
    assert mode == "wal"


def test_any_other_error_is_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Refusing:
        calls = 0

        def execute(self, _sql: str) -> None:
            Refusing.calls += 1
            raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        database._switch_to_wal(Refusing())
    assert Refusing.calls == 1
