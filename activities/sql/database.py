"""The engine and the transactions every role of the partner center shares,
and the row readers more than one role needs.

Every write runs in one transaction (SQLite: ``BEGIN IMMEDIATE``, so writers
queue for the write lock up front), so activity retries and a CLI running next
to the worker never double an effect.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, Self

from sqlalchemy import Connection, Row, Table, case, create_engine, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url

from activities.partner_center import UnknownAccount
from activities.sql.migrations.revisions import UPGRADE_HINT, SchemaNotCurrent, require_current
from activities.sql.schema import (
    AgreementState,
    account_standing,
    accounts,
    active,
    agreements,
    discounts,
    partners,
)
from workflows.model import UnbindingRecord

SqlRow = Row[*tuple[Any, ...]]


_PROJECT: Final = Path(__file__).resolve().parents[2]


def default_database_path(project: Path = _PROJECT) -> Path:
    """Never relative to the working directory, so every command, the worker
    and the demo find the same file wherever they are started: the project's
    ``var/`` in a source checkout, else the user's data directory."""
    if (project / "pyproject.toml").is_file():
        return project / "var" / "unbind.db"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "reseller-unbinding" / "unbind.db"


DEFAULT_DATABASE_PATH: Final = default_database_path()
DEFAULT_DATABASE_URL: Final = f"sqlite:///{DEFAULT_DATABASE_PATH}"


def database_url_from_env() -> str:
    return os.environ.get("UNBIND_DATABASE_URL") or DEFAULT_DATABASE_URL


# A connection execution option: this transaction will write (SQLite: BEGIN IMMEDIATE).
_WRITE: Final = "unbind_write"


class SqlDatabase:
    """One database: its engine and its transactions. Opening refuses a
    database whose schema is not at the migrations' head
    (:class:`~activities.sql.migrations.SchemaNotCurrent`): ``unbind db
    upgrade`` brings it there. Safe to share between threads and to open from
    several processes at once."""

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        """``pool_size`` should cover the worker's activity threads, so no
        activity waits for a connection."""
        self._engine = open_current_engine(url, pool_size=pool_size)
        self._snapshot = threading.local()

    @classmethod
    def from_env(cls) -> Self:
        return cls(database_url_from_env())

    def dispose(self) -> None:
        self._engine.dispose()

    def ping(self) -> None:
        """``SELECT 1``: raises if the database does not answer (readiness)."""
        with self._engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    @property
    def url(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read on this thread inside it, in one read transaction: one
        consistent view, and one connection and transaction instead of one
        per read (an activity's several reads)."""
        if getattr(self._snapshot, "conn", None) is not None:
            yield
            return
        with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # Read committed, PostgreSQL's default, gives each statement
                # the latest commits: one view needs repeatable read. (SQLite's
                # read transaction is one WAL snapshot already.)
                conn.execution_options(isolation_level="REPEATABLE READ")
            self._snapshot.conn = conn
            try:
                yield
            finally:
                self._snapshot.conn = None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        shared = getattr(self._snapshot, "conn", None)
        if shared is not None:
            yield shared
            return
        with self._engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with write_transaction(self._engine) as conn:
            yield conn

    def _insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        return idempotent_insert(self._engine.dialect.name, table)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or SQLite in memory."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    return Path(database)


def open_engine(url: str, *, pool_size: int = 20) -> Engine:
    """The engine for ``url``: a SQLite file's directory created, SQLite
    tuned for several writers (see :func:`_tune_sqlite`)."""
    parsed = make_url(url)
    file = sqlite_file(url)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    pooled = file is not None or parsed.get_backend_name() != "sqlite"
    engine = create_engine(
        url,
        pool_pre_ping=parsed.get_backend_name() != "sqlite",
        # An in-memory SQLite database has a single-connection pool.
        **({"pool_size": pool_size, "max_overflow": pool_size // 2} if pooled else {}),
    )
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    return engine


def open_current_engine(url: str, *, pool_size: int = 20) -> Engine:
    """:func:`open_engine` for a database at the migrations' head, else
    :class:`SchemaNotCurrent`; a SQLite file that does not exist is not created."""
    file = sqlite_file(url)
    if file is not None and not file.exists():
        shown = make_url(url).render_as_string(hide_password=True)
        raise SchemaNotCurrent(f"the database {shown} does not exist: {UPGRADE_HINT}")
    engine = open_engine(url, pool_size=pool_size)
    try:
        with engine.connect() as conn:
            require_current(conn)
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction (SQLite: ``BEGIN IMMEDIATE``, the write lock up front)."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


def idempotent_insert(dialect: str, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that can be made idempotent with ``on_conflict_do_*``."""
    match dialect:
        case "sqlite":
            return sqlite.insert(table)
        case "postgresql":
            return postgresql.insert(table)
        case other:
            raise NotImplementedError(f"unsupported database: {other}")


WAL_SWITCH_ATTEMPTS: Final = 100
WAL_SWITCH_PAUSE: Final = 0.05


def _switch_to_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode=WAL``. Switching a file that is not yet in WAL
    needs an exclusive lock, and SQLite answers "database is locked" at once,
    without the busy handler, while another connection holds a write lock: so
    two processes opening a brand-new file together (two ``unbind db upgrade``
    at once) race here. The mode is persistent, so only a new file's first
    connections can meet this; they wait a bounded while for the other one."""
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(WAL_SWITCH_PAUSE)


def _tune_sqlite(engine: Engine) -> None:
    """WAL for readers beside a writer, a generous busy timeout for several
    threads and processes, and our own BEGIN so that writers take the write
    lock up front (BEGIN IMMEDIATE) instead of failing on a lock upgrade."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite stops issuing BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        _switch_to_wal(cursor)
        for pragma in ("PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL"):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        writes = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


# ---- row readers, each inside the caller's transaction ---------------------------


def account_row(conn: Connection, uin: str) -> SqlRow | None:
    return conn.execute(select(accounts).where(accounts.c.uin == uin)).first()


def require_account(conn: Connection, uin: str) -> SqlRow:
    row = account_row(conn, uin)
    if row is None:
        raise UnknownAccount(f"no account {uin}")
    return row


STANDING_DEFAULTS: Final = {"overdue_bills": 0, "info_complete": True}
"""An account without a standing row: nothing owed, complete."""


def standing_of(conn: Connection, uin: str) -> dict[str, Any]:
    """The account's standing (``account_standing``), defaults when it has none."""
    row = conn.execute(select(account_standing).where(account_standing.c.uin == uin)).first()
    if row is None:
        return dict(STANDING_DEFAULTS)
    return {name: getattr(row, name) for name in STANDING_DEFAULTS}


def discount_names(conn: Connection, uin: str, *, active_only: bool) -> list[str]:
    """The customer's discounts in its current binding (``active_only``: the
    ones not deactivated), by name."""
    query = select(discounts.c.name).where(discounts.c.customer_uin == uin)
    if active_only:
        query = query.where(discounts.c.ended_at.is_(None))
    return list(conn.execute(query.order_by(discounts.c.name)).scalars())


def partner_row(conn: Connection, uin: str) -> SqlRow | None:
    return conn.execute(select(partners).where(partners.c.uin == uin)).first()


def current_agreement(conn: Connection, customer_uin: str) -> SqlRow | None:
    """The active agreement, else the latest one, with its partner's profile."""
    return conn.execute(
        select(
            agreements.c.id,
            agreements.c.state,
            agreements.c.partner_uin,
            agreements.c.signed_at,
            agreements.c.invalidated_at,
            partners.c.kind,
            partners.c.distributor_uin,
        )
        .join(partners, partners.c.uin == agreements.c.partner_uin)
        .where(agreements.c.customer_uin == customer_uin)
        .order_by(case((active, 0), else_=1), agreements.c.id.desc())
        .limit(1)
    ).first()


def if_active(agreement: SqlRow | None) -> SqlRow | None:
    return agreement if agreement is not None and agreement.state is AgreementState.ACTIVE else None


def record_from(row: SqlRow) -> UnbindingRecord:
    values = {**row._mapping, "failed_checks": json.loads(row.failed_checks)}
    plan = values.pop("cutover_plan", None)
    values.pop("effective_on", None)
    if values.get("requested_by") is None:
        values.pop("requested_by", None)
    return UnbindingRecord.model_validate(
        {**values, "plan": json.loads(plan) if plan is not None else None}
    )
