"""The one write to the process's records made outside the workflow: closing
the record of an application whose workflow was stopped by hand (terminated),
behind ``unbind close-terminated`` (starter/repair.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, update

from activities.sql.database import SqlDatabase, record_from
from activities.sql.process import deliver_in
from activities.sql.schema import cutovers, unbinding_records
from workflows.model import Notification, UnbindingRecord, UnbindStatus


class RecordClosure(NamedTuple):
    """What :meth:`SqlPartnerCenter.close_stopped_application` found or did."""

    record: UnbindingRecord
    closed_now: bool
    """False when the record was already closed (a repeated repair)."""
    notified: int = 0
    """Inbox messages delivered with the closing (0 when already closed)."""


class RecordRepair(SqlDatabase):
    """Closes what a Terminate left open."""

    def close_stopped_application(
        self,
        application_id: str,
        *,
        at: datetime,
        announce: Callable[[UnbindingRecord], Notification] | None = None,
    ) -> RecordClosure | None:
        """Close the record of an application whose workflow was stopped by hand
        (terminated), which left it open and so blocks every new application
        for the customer (the ``open_application`` check).

        ``COMPLETED``, with its billing boundary, when the cutover had been
        made; ``CANCELLED`` otherwise. The caller must have verified that no
        run of the application is still going. Idempotent: a record already
        closed is returned unchanged. None when the application has no record
        (it was stopped before its checks passed, so it blocks nothing).

        The outcome is decided under the lock the cutover takes on the record
        (:meth:`~activities.sql.process.ProcessStore.cut_over`): a cutover that
        committed first makes it ``COMPLETED``; one that comes later finds the
        record closed and refuses. ``announce`` builds the parties' message from
        the closed record; it is delivered in the same transaction, so the
        message and the record never disagree and a repeated repair sends
        nothing twice."""
        with self._write() as conn:
            row = conn.execute(
                select(unbinding_records)
                .where(unbinding_records.c.application_id == application_id)
                .with_for_update()
            ).first()
            if row is None:
                return None
            record = record_from(row)
            if record.status.is_terminal:
                return RecordClosure(record=record, closed_now=False)
            cutover = conn.execute(
                select(cutovers.c.effective_at).where(
                    cutovers.c.application_id == application_id,
                    cutovers.c.customer_uin == record.customer_uin,
                )
            ).first()
            closed = record.model_copy(
                update={
                    "status": UnbindStatus.COMPLETED if cutover else UnbindStatus.CANCELLED,
                    "deadline": None,
                    "effective_at": cutover.effective_at if cutover else None,
                    "revision": record.revision + 1,
                    "updated_at": at,
                }
            )
            conn.execute(
                update(unbinding_records)
                .where(unbinding_records.c.application_id == application_id)
                .values(
                    status=closed.status,
                    deadline=None,
                    effective_at=closed.effective_at,
                    revision=closed.revision,
                    updated_at=at,
                )
            )
            notified = deliver_in(conn, announce(closed)) if announce is not None else 0
        return RecordClosure(record=closed, closed_now=True, notified=notified)
