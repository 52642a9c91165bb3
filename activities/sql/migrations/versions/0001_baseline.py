"""Baseline: the partner-center schema as the code created it at run time
before migrations existed (accounts, partners, agreements, records, cutovers,
inbox, the API's audit log).

A frozen copy, on purpose: later revisions change the schema with ``op.*``
calls, never by editing this file or by importing activities.sql.schema.
:func:`baseline_metadata` also serves to recognise an unversioned database made
by that older code (activities/sql/migrations/upgrade.py).

Revision 0001, the first.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UIN = sa.String(20)
_AT = sa.DateTime(timezone=True)


def _values(name: str, *values: str) -> sa.Enum:
    # Stored as a VARCHAR(32) with a CHECK, the same on every dialect.
    return sa.Enum(*values, native_enum=False, length=32, create_constraint=True, name=name)


def baseline_metadata() -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(
        "accounts",
        metadata,
        sa.Column("uin", _UIN, primary_key=True),
        sa.Column("name", sa.String(200)),
        sa.Column("owner_uin", _UIN, sa.ForeignKey("accounts.uin")),
        sa.Column("frozen", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("credit_cents", sa.BigInteger, nullable=False),
        sa.Column(
            "overdue_privilege",
            _values("overdueprivilege_values", "none", "postpaid", "prepaid"),
            nullable=False,
        ),
        sa.Column(
            "group_role", _values("grouprole_values", "none", "admin", "member"), nullable=False
        ),
        sa.Column("savings_unit", sa.String(64)),
        sa.Column("card_bound", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
    )
    sa.Table(
        "partners",
        metadata,
        sa.Column("uin", _UIN, sa.ForeignKey("accounts.uin"), primary_key=True),
        sa.Column(
            "kind",
            _values("partnerkind_values", "reseller", "distributor", "second_level_reseller"),
            nullable=False,
        ),
        sa.Column("distributor_uin", _UIN, sa.ForeignKey("partners.uin")),
    )
    agreements = sa.Table(
        "agreements",
        metadata,
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("customer_uin", _UIN, sa.ForeignKey("accounts.uin"), nullable=False),
        sa.Column("partner_uin", _UIN, sa.ForeignKey("partners.uin"), nullable=False),
        sa.Column(
            "state", _values("agreementstate_values", "active", "invalidated"), nullable=False
        ),
        sa.Column("signed_at", _AT, nullable=False),
        sa.Column("invalidated_at", _AT),
        sa.Column("invalidated_by_application", sa.String(64)),
    )
    active = sa.text("state = 'active'")
    sa.Index(
        "one_active_agreement_per_customer",
        agreements.c.customer_uin,
        unique=True,
        sqlite_where=active,
        postgresql_where=active,
    )
    sa.Table(
        "unbinding_records",
        metadata,
        sa.Column("application_id", sa.String(64), primary_key=True),
        sa.Column("workflow_id", sa.String(128), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("customer_uin", _UIN, nullable=False, index=True),
        sa.Column("initiator_uin", _UIN, nullable=False),
        sa.Column("reseller_uin", _UIN),
        sa.Column("distributor_uin", _UIN),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("failed_checks", sa.Text, nullable=False),
        sa.Column("deadline", _AT),
        sa.Column("submitted_at", _AT, nullable=False),
        sa.Column("notice_acknowledged_by", _UIN, nullable=False),
        sa.Column("notice_acknowledged_at", _AT, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("effective_at", _AT),
        sa.Column("updated_at", _AT, nullable=False),
    )
    sa.Table(
        "cutovers",
        metadata,
        sa.Column("application_id", sa.String(64), primary_key=True),
        sa.Column("customer_uin", _UIN, nullable=False),
        sa.Column("partner_uin", _UIN, nullable=False),
        sa.Column("agreement_id", _ID, sa.ForeignKey("agreements.id"), nullable=False),
        sa.Column("effective_at", _AT, nullable=False),
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("recipient_uin", _UIN, nullable=False, index=True),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("workflow_id", sa.String(128), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("delivered_at", _AT, nullable=False),
    )
    sa.Index(
        "one_message_per_event_of_a_workflow",
        inbox.c.application_id,
        inbox.c.workflow_id,
        inbox.c.event,
        inbox.c.recipient_uin,
        unique=True,
    )
    sa.Table(
        "audit_refusals",
        metadata,
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("at", _AT, nullable=False, index=True),
        sa.Column("principal", sa.String(128)),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("action", sa.String(32)),
        sa.Column("customer_uin", sa.String(64)),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    return metadata


def upgrade() -> None:
    baseline_metadata().create_all(op.get_bind())


def downgrade() -> None:
    baseline_metadata().drop_all(op.get_bind())
