"""Reading the partner center back: the inbox (``unbind inbox``), the
"Unbinding Customers" records, a cutover, row counts. What the CLI shows and
what the tests and the fault suite verify rows with."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from activities.sql.database import SqlDatabase, record_from
from activities.sql.schema import (
    accounts,
    active,
    agreements,
    cutovers,
    inbox,
    metadata,
    unbinding_records,
)
from workflows.model import TERMINAL_STATUSES, CutoverResult, UnbindingRecord


class ReadBack(SqlDatabase):
    """Read-only queries over the process's logs."""

    def inbox(self, uin: str) -> list[dict[str, Any]]:
        """The account's system messages, oldest first, JSON-ready."""
        with self._read() as conn:
            rows = conn.execute(
                select(inbox).where(inbox.c.recipient_uin == uin).order_by(inbox.c.at, inbox.c.id)
            ).all()
        return [
            {
                "at": row.at.isoformat(),
                "event": row.event,
                "workflow_id": row.workflow_id,
                "application_id": row.application_id,
                "subject": row.subject,
                "body": row.body,
            }
            for row in rows
        ]

    def customers_of(self, partner_uin: str) -> list[tuple[str, str | None]]:
        """(uin, name) of the customers bound to this partner now ("Customer
        Management"), by UIN."""
        with self._read() as conn:
            rows = conn.execute(
                select(accounts.c.uin, accounts.c.name)
                .join(agreements, agreements.c.customer_uin == accounts.c.uin)
                .where(agreements.c.partner_uin == partner_uin, active)
                .order_by(accounts.c.uin)
            ).all()
        return [(row.uin, row.name) for row in rows]

    def deliveries(self, application_id: str) -> list[tuple[str, str]]:
        """(event, recipient) of every system message of one application,
        whoever received it, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(inbox.c.event, inbox.c.recipient_uin)
                .where(inbox.c.application_id == application_id)
                .order_by(inbox.c.at, inbox.c.id)
            ).all()
        return [(row.event, row.recipient_uin) for row in rows]

    def records(self, customer_uin: str | None = None) -> list[UnbindingRecord]:
        """The "Unbinding Customers" page, oldest application first."""
        query = select(unbinding_records).order_by(
            unbinding_records.c.submitted_at, unbinding_records.c.application_id
        )
        if customer_uin is not None:
            query = query.where(unbinding_records.c.customer_uin == customer_uin)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [record_from(row) for row in rows]

    def initiators(self, workflow_ids: Iterable[str]) -> dict[str, str]:
        """The initiator of each workflow's open application, by workflow id: the
        list view's search attributes name the reseller, who is not the initiator
        of a customer's own request. A workflow without an open record is absent."""
        ids = sorted(set(workflow_ids))
        if not ids:
            return {}
        records = unbinding_records.c
        with self._read() as conn:
            rows = conn.execute(
                select(records.workflow_id, records.initiator_uin).where(
                    records.workflow_id.in_(ids), records.status.not_in(TERMINAL_STATUSES)
                )
            ).all()
        return {row.workflow_id: row.initiator_uin for row in rows}

    def cutover_for(self, application_id: str) -> CutoverResult | None:
        with self._read() as conn:
            row = conn.execute(
                select(cutovers.c.effective_at, cutovers.c.agreement_id).where(
                    cutovers.c.application_id == application_id
                )
            ).first()
        return None if row is None else CutoverResult.model_validate(row._mapping)

    def count(self, table_name: str, **filters: object) -> int:
        """Rows of one table matching column == value filters (for tests and checks)."""
        table = metadata.tables[table_name]
        query = select(func.count()).select_from(table)
        query = query.where(*(table.c[column] == value for column, value in filters.items()))
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())
