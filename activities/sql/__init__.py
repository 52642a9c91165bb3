"""The partner center on SQL (see :mod:`activities.sql.center` for the map).

Most callers need only :class:`SqlPartnerCenter` and the database URL; the
schema, the ledger helpers and the demo constants live in their own modules.
"""

from activities.sql.center import SqlPartnerCenter
from activities.sql.database import DEFAULT_DATABASE_URL, database_url_from_env
from activities.sql.repair import RecordClosure

__all__ = ["DEFAULT_DATABASE_URL", "RecordClosure", "SqlPartnerCenter", "database_url_from_env"]
