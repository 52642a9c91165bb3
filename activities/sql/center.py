"""The partner center on a SQL database: SQLite by default, PostgreSQL for
deployments with several workers. One object, one room per role:

- :mod:`~activities.sql.process`: the ``PartnerCenter`` protocol the activities use;
- :mod:`~activities.sql.ledger`: ledger administration (``unbind ledger``);
- :mod:`~activities.sql.demo`: the demo ledger;
- :mod:`~activities.sql.readback`: the inbox, the records, row counts;
- :mod:`~activities.sql.repair`: closing what a Terminate left open;
- :mod:`~activities.sql.audit`: the HTTP API's refused attempts;
- :mod:`~activities.sql.evidence`: consent as evidence (``unbind evidence``);

over :mod:`~activities.sql.schema` (every table, in one place) and
:mod:`~activities.sql.database` (the engine and its transactions). SQLAlchemy
Core only, bound parameters only; the schema comes from the migrations
(:mod:`activities.sql.migrations`, ``unbind db upgrade``).
"""

from __future__ import annotations

from activities.sql.audit import AuditLog
from activities.sql.demo import DemoLedger
from activities.sql.evidence import EvidenceStore
from activities.sql.ledger import LedgerAdministration
from activities.sql.process import ProcessStore
from activities.sql.readback import ReadBack
from activities.sql.repair import RecordRepair


class SqlPartnerCenter(
    ProcessStore, LedgerAdministration, DemoLedger, ReadBack, RecordRepair, AuditLog, EvidenceStore
):
    """The :class:`~activities.partner_center.PartnerCenter` on SQL, plus the
    ledger administration, the demo, the read-back, the repair and the audit log. Safe to
    share between threads and to open from several processes at once."""
