"""The partner center the ledger, ``inbox`` and ``close-terminated`` use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from activities.partner_center import LedgerConflict, UnknownAccount
from activities.sql import SqlPartnerCenter
from activities.sql.migrations.revisions import SchemaNotCurrent
from starter.configuration import database_url
from starter.errors import BadConfiguration, BadInput, Refused, Unreachable


@contextmanager
def partner_center() -> Iterator[SqlPartnerCenter]:
    """The partner center from UNBIND_DATABASE_URL, with its errors named; a
    malformed URL is a BadConfiguration before anything is opened."""
    url = database_url()
    where = make_url(url).render_as_string(hide_password=True)
    try:
        pc = SqlPartnerCenter(url)
    except SchemaNotCurrent as error:
        raise BadConfiguration(None, str(error)) from None
    except (SQLAlchemyError, OSError, ImportError) as error:
        raise Unreachable(f"cannot open the database {where}: {_reason_of(error)}") from error
    try:
        yield pc
    except (UnknownAccount, LedgerConflict) as error:
        raise Refused(str(error)) from None
    except IntegrityError as error:
        raise Refused(f"the ledger refused the change: {_reason_of(error)}") from None
    except (DBAPIError, SQLAlchemyError, OSError) as error:
        raise Unreachable(f"database {where}: {_reason_of(error)}") from error
    except ValueError as error:
        raise BadInput(None, str(error)) from None
    finally:
        pc.dispose()


def _reason_of(error: BaseException) -> str:
    if isinstance(error, DBAPIError):
        return str(error.orig)
    return str(error).splitlines()[0] if str(error) else type(error).__name__
