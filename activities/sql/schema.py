"""The partner center's schema, in one place: every table, index and column
type. The code never creates it: the migrations under
activities/sql/migrations do (``unbind db upgrade``), and a test checks that
they build exactly this. Change a table here and add a migration with it.

Records, cutovers and the inbox are logs keyed by the application: no foreign
keys, so a record about an unknown customer (a failed precheck) still saves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

from workflows.model import GroupRole, OverduePrivilege, PartnerKind, Requester, UnbindStatus


class AgreementState(StrEnum):
    ACTIVE = "active"
    INVALIDATED = "invalidated"


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out. SQLite keeps no offset, so values are
    stored as UTC and given their zone back on read; naive input is UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class PlainString(TypeDecorator[str]):
    """Text that holds no NUL character. PostgreSQL cannot store one, so
    SQLite refuses it too: the ledger behaves the same on both."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("text may not contain the NUL character (U+0000)")
        return value


class PlainText(PlainString):
    """Unbounded :class:`PlainString`."""

    impl = Text
    cache_ok = True


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)


def _enum(cls: type[StrEnum], *, constrained: bool = True) -> Enum:
    # Stored as the enum's value in a VARCHAR (+ CHECK), the same on every dialect.
    return Enum(
        cls,
        native_enum=False,
        length=32,
        create_constraint=constrained,
        name=f"{cls.__name__.lower()}_values",
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


# BIGINT on PostgreSQL; on SQLite only INTEGER PRIMARY KEY autoincrements.
_Id = BigInteger().with_variant(Integer(), "sqlite")
_Uin = String(20)

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("uin", _Uin, primary_key=True),
    Column("name", PlainString(200)),
    Column("owner_uin", _Uin, ForeignKey("accounts.uin")),
    Column("frozen", Boolean, nullable=False, default=False),
    Column("credit_cents", BigInteger, nullable=False, default=0),
    Column(
        "overdue_privilege",
        _enum(OverduePrivilege),
        nullable=False,
        default=OverduePrivilege.NONE,
    ),
    Column("group_role", _enum(GroupRole), nullable=False, default=GroupRole.NONE),
    Column("savings_unit", PlainString(64)),
    Column("card_bound", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False, default=now),
)

account_standing = Table(
    "account_standing",
    metadata,
    Column("uin", _Uin, ForeignKey("accounts.uin"), primary_key=True),
    Column("overdue_bills", Integer, nullable=False, default=0),
    Column("info_complete", Boolean, nullable=False, default=True),
)
"""What the unbinding notice makes the reseller promise and step 6 asks of the
customer: unsettled overdue bills, whether the account information is complete.
A table of its own, so ``accounts`` stays as it was; no row means nothing owed
and complete information. (Discounts have their own table: ``discounts``.)"""

partners = Table(
    "partners",
    metadata,
    Column("uin", _Uin, ForeignKey("accounts.uin"), primary_key=True),
    Column("kind", _enum(PartnerKind), nullable=False),
    Column("distributor_uin", _Uin, ForeignKey("partners.uin")),
)

agreements = Table(
    "agreements",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("customer_uin", _Uin, ForeignKey("accounts.uin"), nullable=False),
    Column("partner_uin", _Uin, ForeignKey("partners.uin"), nullable=False),
    Column("state", _enum(AgreementState), nullable=False),
    Column("signed_at", UtcDateTime, nullable=False),
    Column("invalidated_at", UtcDateTime),
    Column("invalidated_by_application", PlainString(64)),
)
active = agreements.c.state == AgreementState.ACTIVE.value
# At most one active agreement per customer, even against a concurrent writer.
Index(
    "one_active_agreement_per_customer",
    agreements.c.customer_uin,
    unique=True,
    sqlite_where=active,
    postgresql_where=active,
)

unbinding_records = Table(
    "unbinding_records",
    metadata,
    Column("application_id", PlainString(64), primary_key=True),
    Column("workflow_id", PlainString(128), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("customer_uin", _Uin, nullable=False, index=True),
    Column("initiator_uin", _Uin, nullable=False),
    Column("reseller_uin", _Uin),
    Column("distributor_uin", _Uin),
    # No CHECK: the process may gain statuses without a schema migration.
    Column("status", _enum(UnbindStatus, constrained=False), nullable=False),
    Column("failed_checks", PlainText(), nullable=False),
    Column("deadline", UtcDateTime),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("notice_acknowledged_by", _Uin, nullable=False),
    Column("notice_acknowledged_at", UtcDateTime, nullable=False),
    Column("reason", PlainText()),
    Column("effective_at", UtcDateTime),
    # Who asked (issue 13 item 4); older rows are the reseller's.
    Column("requested_by", _enum(Requester, constrained=False), nullable=True),
    # The cutover plan the parties were shown (JSON, ``CutoverPlan``), and its
    # date on its own for queries: null for a cutover at once.
    Column("cutover_plan", PlainText()),
    Column("effective_on", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)

consent_evidence = Table(
    "consent_evidence",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("application_id", PlainString(64), nullable=False),
    Column("workflow_id", PlainString(128), nullable=False),
    Column("customer_uin", _Uin, nullable=False, index=True),
    # "notice", or the decision's action, actor and action id: one row each.
    Column("key", PlainString(320), nullable=False),
    Column("action", PlainString(32), nullable=False),
    Column("actor", PlainString(128), nullable=False),
    Column("principal", PlainString(128)),
    Column("action_id", PlainString(128)),
    Column("approve", Boolean),
    Column("at", UtcDateTime, nullable=False),
    Column("text_version", PlainString(32)),
    Column("text_sha256", PlainString(64)),
    Column("reason", PlainText()),
    UniqueConstraint("application_id", "workflow_id", "key", name="one_row_per_consent"),
)
"""Who acknowledged or decided what, when, through which principal, on which
text (version and SHA-256): written with the record, never changed, read by
``unbind evidence``. A log keyed by the application, like the records."""

discounts = Table(
    "discounts",
    metadata,
    Column("customer_uin", _Uin, ForeignKey("accounts.uin"), primary_key=True),
    Column("name", PlainString(200), primary_key=True),
    Column("granted_at", UtcDateTime, nullable=False, default=now),
    # Set when the reseller deactivates it (the notice's promise); null: active.
    Column("ended_at", UtcDateTime),
)
"""The reseller's discounts on a customer's account in its current binding, by
name: the one source of the ``active_discounts`` check (its rows with no
``ended_at``) and of the cutover plan's list of discounts that end. The cutover
removes the customer's rows: they belong to the relationship it ends."""

cutovers = Table(
    "cutovers",
    metadata,
    Column("application_id", PlainString(64), primary_key=True),
    Column("customer_uin", _Uin, nullable=False),
    Column("partner_uin", _Uin, nullable=False),
    Column("agreement_id", _Id, ForeignKey("agreements.id"), nullable=False),
    Column("effective_at", UtcDateTime, nullable=False),
)

inbox = Table(
    "inbox",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("recipient_uin", _Uin, nullable=False, index=True),
    Column("application_id", PlainString(64), nullable=False),
    Column("workflow_id", PlainString(128), nullable=False),
    Column("event", PlainString(64), nullable=False),
    Column("subject", PlainText(), nullable=False),
    Column("body", PlainText(), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=False),
)
# One message per event to each recipient of one application of one customer
# (the workflow id names the customer): a reused application id is another
# application, whose messages are not duplicates of the first one's.
one_message_per_event = Index(
    "one_message_per_event_of_a_workflow",
    inbox.c.application_id,
    inbox.c.workflow_id,
    inbox.c.event,
    inbox.c.recipient_uin,
    unique=True,
)
audit_refusals = Table(
    "audit_refusals",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    # Who the token said (sub, or operator:<name>); null without a valid token.
    Column("principal", PlainString(128)),
    Column("method", PlainString(16), nullable=False),
    Column("path", PlainText(), nullable=False),
    Column("action", PlainString(32)),
    Column("customer_uin", PlainString(64)),
    Column("status_code", Integer, nullable=False),
    Column("reason", PlainText(), nullable=False),
)
"""Every attempt the HTTP API refused (starter/api): a log, no foreign keys."""
