"""Opening the partner center's database with its failures named: one line
saying which database (password hidden), why, and what to check."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from activities.sql import SqlPartnerCenter
from activities.sql.database import open_current_engine
from activities.sql.migrations.revisions import SchemaNotCurrent
from starter.configuration import DATABASE_URL_VARIABLE
from starter.errors import BadConfiguration, Unreachable

OPEN_FAILURES = (SQLAlchemyError, OSError, ImportError)
"""What opening or pinging a database raises when it cannot be used."""


def shown(url: str) -> str:
    """The URL as it may be printed: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def reason_of(error: BaseException) -> str:
    """The driver's own first line, without SQLAlchemy's wrapping and links."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def cannot_open(url: str, error: BaseException) -> Unreachable:
    return Unreachable(
        f"cannot open the database {shown(url)}: {reason_of(error)}; check that it is "
        f"running and that {DATABASE_URL_VARIABLE} names it"
    )


def open_partner_center(url: str, **options: int) -> SqlPartnerCenter:
    """The partner center at ``url``; a database that cannot be opened is an
    :class:`Unreachable` in one line, not a traceback, and one whose schema is
    not at the migrations' head a :class:`BadConfiguration` saying to run
    ``unbind db upgrade``."""
    try:
        return SqlPartnerCenter(url, **options)
    except SchemaNotCurrent as error:
        raise BadConfiguration(None, str(error)) from None
    except OPEN_FAILURES as error:
        raise cannot_open(url, error) from error


def require_migrated(url: str) -> None:
    """Refuse to serve on a database that is not at the migrations' head: a
    :class:`BadConfiguration` (exit 2) saying to run ``unbind db upgrade``;
    :class:`Unreachable` (exit 3) when the database does not answer."""
    try:
        open_current_engine(url, pool_size=1).dispose()
    except SchemaNotCurrent as error:
        raise BadConfiguration(None, str(error)) from None
    except OPEN_FAILURES as error:
        raise cannot_open(url, error) from error


def ping_database(url: str) -> None:
    """``SELECT 1`` on a connection of its own; creates nothing, so a health
    check never writes. Raises what the driver raises (see :func:`reason_of`)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()
