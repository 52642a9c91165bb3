"""Where a database stands against the migrations shipped in this package."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

MIGRATIONS: Final = Path(__file__).resolve().parent
BASELINE: Final = "0001"
"""The revision equal to the schema the code created at run time before migrations."""
VERSION_TABLE: Final = "alembic_version"
UPGRADE_HINT: Final = (
    "run `unbind db upgrade` (with the same UNBIND_DATABASE_URL or --database-url)"
)


class SchemaNotCurrent(Exception):
    """The database's schema is not at the head of the shipped migrations:
    nothing may use it until ``unbind db upgrade`` has run."""


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration in code (no ``alembic.ini`` needed when installed);
    ``connection``, when given, is the one ``env.py`` migrates on."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = scripts().get_current_head()
    if head is None:  # pragma: no cover - the baseline always ships
        raise RuntimeError(f"no migration found under {MIGRATIONS}")
    return head


def current_revision(conn: Connection) -> str | None:
    """The database's revision; None when it has no ``alembic_version`` table
    (an empty database, or one made before migrations). Read directly:
    alembic's MigrationContext would log two lines on every open."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    versions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(versions) > 1:  # pragma: no cover - only branched migrations leave several
        raise SchemaNotCurrent(f"the database has several schema revisions {versions}")
    return versions[0] if versions else None


def require_current(conn: Connection) -> None:
    """Raise :class:`SchemaNotCurrent`, in one line, unless the database is at head."""
    current = current_revision(conn)
    head = head_revision()
    if current != head:
        found = "no schema revision" if current is None else f"schema revision {current}"
        where = conn.engine.url.render_as_string(hide_password=True)
        raise SchemaNotCurrent(
            f"the database {where} has {found}, this code needs {head}: {UPGRADE_HINT}"
        )
