"""Consent as evidence (``consent_evidence``): written with each record (the
notice acknowledged at submission, each party's decision once accepted),
never changed, and read back with the record, the messages and the API's
refusals by ``unbind evidence``, which needs no access to Temporal."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from activities.sql.database import SqlDatabase, idempotent_insert, record_from
from activities.sql.schema import audit_refusals, consent_evidence, inbox, unbinding_records
from workflows.model import UnbindingRecord
from workflows.notice import text_with_hash

EVIDENCE_FIELDS = frozenset({"notice_version", "notice_sha256", "decisions"})
"""The record's fields kept here rather than in ``unbinding_records``."""


def keep_evidence_in(conn: Connection, record: UnbindingRecord) -> None:
    """The record's acknowledgement and decisions, once each (a retry or a
    later revision adds only what is new), inside the caller's transaction."""
    common = {
        "application_id": record.application_id,
        "workflow_id": record.workflow_id,
        "customer_uin": record.customer_uin,
    }
    rows: list[dict[str, Any]] = [
        {
            **common,
            "key": "notice",
            "action": "notice",
            "actor": record.notice_acknowledged_by,
            "principal": record.notice_acknowledged_by,
            "action_id": None,
            "approve": None,
            "at": record.notice_acknowledged_at,
            "text_version": record.notice_version,
            "text_sha256": record.notice_sha256,
            "reason": None,
        }
    ]
    for decision in record.decisions:
        known = text_with_hash(decision.text_sha256) if decision.text_sha256 else None
        rows.append(
            {
                **common,
                "key": f"{decision.action}:{decision.actor}:{decision.action_id}",
                "action": decision.action,
                "actor": decision.actor,
                "principal": decision.principal,
                "action_id": decision.action_id,
                "approve": decision.approve,
                "at": decision.at,
                "text_version": known[0].version if known else None,
                "text_sha256": decision.text_sha256,
                "reason": decision.reason,
            }
        )
    conn.execute(
        idempotent_insert(conn.dialect.name, consent_evidence)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["application_id", "workflow_id", "key"])
    )


class EvidenceStore(SqlDatabase):
    """Reads one application's evidence from the database alone."""

    def evidence_of(
        self, customer_uin: str, application_id: str | None = None
    ) -> dict[str, Any] | None:
        """The customer's latest application (or ``application_id``): its
        record, its consents oldest first, the messages it sent and the API's
        refused attempts about the customer from its submission until the
        customer's next application. None when there is no such application."""
        records = unbinding_records.c
        query = select(unbinding_records).where(records.customer_uin == customer_uin)
        if application_id is not None:
            query = query.where(records.application_id == application_id)
        with self._read() as conn:
            row = conn.execute(
                query.order_by(records.submitted_at.desc(), records.updated_at.desc()).limit(1)
            ).first()
            if row is None:
                return None
            record = record_from(row)
            mine = (
                consent_evidence.c.application_id == record.application_id,
                consent_evidence.c.workflow_id == record.workflow_id,
            )
            consents = conn.execute(
                select(consent_evidence)
                .where(*mine)
                .order_by(consent_evidence.c.at, consent_evidence.c.id)
            ).all()
            messages = conn.execute(
                select(inbox)
                .where(
                    inbox.c.application_id == record.application_id,
                    inbox.c.workflow_id == record.workflow_id,
                )
                .order_by(inbox.c.at, inbox.c.id)
            ).all()
            # The customer's next application, if any, ends this one's period:
            # attempts after it are about that one, not this.
            next_submitted = conn.execute(
                select(func.min(records.submitted_at)).where(
                    records.customer_uin == customer_uin,
                    records.submitted_at > record.submitted_at,
                )
            ).scalar()
            about = [
                audit_refusals.c.customer_uin == customer_uin,
                audit_refusals.c.at >= record.submitted_at,
            ]
            if next_submitted is not None:
                about.append(audit_refusals.c.at < next_submitted)
            refusals = conn.execute(
                select(audit_refusals)
                .where(*about)
                .order_by(audit_refusals.c.at, audit_refusals.c.id)
            ).all()
        return {
            "record": record,
            "consents": [dict(r._mapping) for r in consents],
            "messages": [dict(r._mapping) for r in messages],
            "refusals": [dict(r._mapping) for r in refusals],
        }
