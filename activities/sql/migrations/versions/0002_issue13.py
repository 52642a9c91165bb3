"""Issue 13: the notice checked, consent as evidence, the customer's own
request, an effective date.

- ``account_standing``: the overdue bills and the completeness of the account
  information the final check looks at (no row: nothing owed, complete);
- ``discounts``: the reseller's discounts on a customer's account (``ended_at``
  set once deactivated), the one source of the ``active_discounts`` check and of
  the cutover plan's list;
- ``consent_evidence``: who acknowledged or decided what, on which text;
- on ``unbinding_records``, nullable (older rows are the reseller's, at once):
  ``requested_by``, ``cutover_plan`` (JSON) and ``effective_on``.

Revision 0002, after 0001.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_evidence",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=128), nullable=False),
        sa.Column("customer_uin", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("principal", sa.String(length=128), nullable=True),
        sa.Column("action_id", sa.String(length=128), nullable=True),
        sa.Column("approve", sa.Boolean(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text_version", sa.String(length=32), nullable=True),
        sa.Column("text_sha256", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id", "workflow_id", "key", name="one_row_per_consent"),
    )
    with op.batch_alter_table("consent_evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_evidence_customer_uin"), ["customer_uin"], unique=False
        )

    op.create_table(
        "account_standing",
        sa.Column("uin", sa.String(length=20), nullable=False),
        sa.Column("overdue_bills", sa.Integer(), nullable=False),
        sa.Column("info_complete", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["uin"],
            ["accounts.uin"],
        ),
        sa.PrimaryKeyConstraint("uin"),
    )
    op.create_table(
        "discounts",
        sa.Column("customer_uin", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_uin"],
            ["accounts.uin"],
        ),
        sa.PrimaryKeyConstraint("customer_uin", "name"),
    )
    with op.batch_alter_table("unbinding_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_by", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("cutover_plan", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("effective_on", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("unbinding_records", schema=None) as batch_op:
        batch_op.drop_column("effective_on")
        batch_op.drop_column("cutover_plan")
        batch_op.drop_column("requested_by")

    op.drop_table("discounts")
    op.drop_table("account_standing")
    with op.batch_alter_table("consent_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_evidence_customer_uin"))

    op.drop_table("consent_evidence")
