"""The partner center the ledger, ``inbox`` and ``close-terminated`` use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from activities.partner_center import LedgerConflict, UnknownAccount
from activities.sql import SqlPartnerCenter
from starter.configuration import database_url
from starter.database import open_partner_center, reason_of, shown
from starter.errors import BadInput, Refused, Unreachable


@contextmanager
def partner_center() -> Iterator[SqlPartnerCenter]:
    """The partner center from UNBIND_DATABASE_URL, with its errors named; a
    malformed URL is a BadConfiguration before anything is opened."""
    url = database_url()
    where = shown(url)
    pc = open_partner_center(url)
    try:
        yield pc
    except (UnknownAccount, LedgerConflict) as error:
        raise Refused(str(error)) from None
    except IntegrityError as error:
        raise Refused(f"the ledger refused the change: {reason_of(error)}") from None
    except (DBAPIError, SQLAlchemyError, OSError) as error:
        raise Unreachable(f"database {where}: {reason_of(error)}") from error
    except ValueError as error:
        raise BadInput(None, str(error)) from None
    finally:
        pc.dispose()
