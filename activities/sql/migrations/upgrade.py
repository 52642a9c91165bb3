"""Bringing a database to the head of the shipped migrations (``unbind db upgrade``).

A database made by the code before migrations (tables, no ``alembic_version``)
is adopted: what that code would still have added at start-up is added the
same way (missing tables and indexes, such as the per-workflow inbox index;
PostgreSQL drops the older, coarser inbox constraint), then the result must equal the baseline
revision column for column and index for index, and only then is it stamped
at the baseline and upgraded. A database that differs is refused with the
differences named, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, MetaData, String, Table, UniqueConstraint, inspect, text
from sqlalchemy.schema import DropConstraint

from activities.sql.database import open_engine, sqlite_file, write_transaction
from activities.sql.migrations.revisions import (
    BASELINE,
    alembic_config,
    current_revision,
    head_revision,
    scripts,
)

COARSE_INBOX_CONSTRAINT = "one_message_per_event"
"""Older code's inbox key, (application_id, event, recipient_uin). SQLite cannot
drop a table constraint without rebuilding the table, so an old SQLite file
keeps it beside the per-workflow index, as the code before migrations did."""

# Serialises concurrent upgraders on PostgreSQL (SQLite: BEGIN IMMEDIATE does).
_UPGRADE_LOCK = 0x756E62696E64  # "unbind"


class SchemaMismatch(Exception):
    """An unversioned database whose tables are not the baseline's: it was not
    made by this project's code, or was changed by hand."""


@dataclass(frozen=True)
class Upgraded:
    before: str | None
    after: str
    adopted: bool
    """True when the database was made before migrations and stamped at the baseline."""


def upgrade(url: str) -> Upgraded:
    """Bring the database at ``url`` to the head, in one transaction."""
    engine = open_engine(url, pool_size=1)
    try:
        with write_transaction(engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
            before = current_revision(conn)
            adopted = before is None and _has_tables(conn)
            if adopted:
                _adopt(conn)
            command.upgrade(alembic_config(conn), "head")
            return Upgraded(before=before, after=head_revision(), adopted=adopted)
    finally:
        engine.dispose()


def current(url: str) -> str | None:
    """The database's revision (None: empty, missing, or made before migrations)."""
    file = sqlite_file(url)
    if file is not None and not file.exists():
        return None  # only `upgrade` creates a SQLite file
    engine = open_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return current_revision(conn)
    finally:
        engine.dispose()


def _has_tables(conn: Connection) -> bool:
    names = set(inspect(conn).get_table_names())
    return bool(names & set(baseline_metadata().tables))


def baseline_metadata() -> MetaData:
    module: ModuleType = scripts().get_revision(BASELINE).module
    metadata: MetaData = module.baseline_metadata()
    return metadata


def _adopt(conn: Connection) -> None:
    baseline = baseline_metadata()
    # What the code before migrations did on every start: add, never lose a row.
    baseline.create_all(conn)
    for table in baseline.sorted_tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)
    if conn.dialect.name == "postgresql":
        found = inspect(conn).get_unique_constraints("inbox")
        if any(constraint["name"] == COARSE_INBOX_CONSTRAINT for constraint in found):
            legacy = Table("inbox", MetaData(), Column("application_id", String))
            conn.execute(
                DropConstraint(
                    UniqueConstraint(legacy.c.application_id, name=COARSE_INBOX_CONSTRAINT)
                )
            )
    differences = [
        difference
        for difference in compare_metadata(MigrationContext.configure(conn), baseline)
        if not _is_tolerated(difference)
    ]
    if differences:
        raise SchemaMismatch(
            "the database has tables but no schema revision, and they differ from "
            f"the baseline ({BASELINE}): {'; '.join(map(describe, differences))}"
        )
    command.stamp(alembic_config(conn), BASELINE)


def _is_tolerated(difference: Any) -> bool:
    # The coarse inbox constraint an old SQLite file keeps (see COARSE_INBOX_CONSTRAINT).
    if isinstance(difference, tuple) and difference[0] == "remove_constraint":
        return getattr(difference[1], "name", None) == COARSE_INBOX_CONSTRAINT
    return False


def describe(difference: Any) -> str:
    """One alembic difference in a few words: ``add_column inbox.x``."""
    if isinstance(difference, list):  # a column's modifications come as a list
        return ", ".join(describe(each) for each in difference)
    kind = difference[0]
    if kind in ("add_column", "remove_column"):
        return f"{kind} {difference[2]}.{difference[3].name}"
    if kind.startswith("modify_"):
        return f"{kind} {difference[2]}.{difference[3]}"
    target = difference[1]
    table = getattr(target, "table", None)
    return f"{kind} {table.name}.{target.name}" if table is not None else f"{kind} {target.name}"
