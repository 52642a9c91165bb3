"""The partner center on a SQL database: SQLite by default, PostgreSQL for
deployments with several workers.

SQLAlchemy Core only, bound parameters only, the schema created on first use.
Every write runs in one transaction and is idempotent, so activity retries and
a CLI running next to the worker never double an effect.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    case,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url

from activities.partner_center import (
    AccountSnapshot,
    LedgerConflict,
    RelationshipConflict,
    UnknownAccount,
)
from workflows.model import (
    TERMINAL_STATUSES,
    UIN_PATTERN,
    CutoverRequest,
    CutoverResult,
    GroupRole,
    Notification,
    OverduePrivilege,
    PartnerKind,
    UnbindingRecord,
    UnbindStatus,
)

_Row = Row[*tuple[Any, ...]]

DEFAULT_DATABASE_URL: Final = "sqlite:///var/unbind.db"


def database_url_from_env() -> str:
    return os.environ.get("UNBIND_DATABASE_URL") or DEFAULT_DATABASE_URL


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = _Unchanged()
"""Marks an optional argument of :meth:`SqlPartnerCenter.set_account` whose
``None`` has a meaning of its own (``savings_unit=None`` clears the unit)."""


class AgreementState(StrEnum):
    ACTIVE = "active"
    INVALIDATED = "invalidated"


# Beyond any balance a ledger holds; keeps 10**shift small for inputs like 1e999999999.
_MAX_AMOUNT_DIGITS = 40


def cents_from_amount(amount: str | Decimal) -> int:
    """``"-12.5"`` -> ``-1250``; refuses fractions of a cent.

    Exact for any number of digits: Decimal arithmetic would round to the
    context's 28 digits and could turn ``99999999999999999999999999.995``
    into whole cents, so the digits are counted instead of multiplied."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount in cents: {amount!r}")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    coefficient = int("".join(map(str, digits)) or "0")
    if coefficient == 0:
        return 0
    if value.adjusted() > _MAX_AMOUNT_DIGITS:
        raise ValueError(f"not an amount in cents: {amount!r} has too many digits")
    shift = exponent + 2  # the exponent of the coefficient's last digit, in cents
    if shift >= 0:
        cents = coefficient * 10**shift
    elif -shift >= len(digits):  # all of it below a cent (and 10**-shift may be huge)
        raise ValueError(f"not an amount in cents: {amount!r}")
    else:
        cents, below_a_cent = divmod(coefficient, 10**-shift)
        if below_a_cent:
            raise ValueError(f"not an amount in cents: {amount!r}")
    return -cents if sign else cents


def amount_from_cents(cents: int) -> str:
    """``-1250`` -> ``"-12.50"``."""
    return str(Decimal(cents).scaleb(-2))


# ---- schema -----------------------------------------------------------------


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out. SQLite keeps no offset, so values are
    stored as UTC and given their zone back on read; naive input is UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)


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


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _now() -> datetime:
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
    Column("created_at", UtcDateTime, nullable=False, default=_now),
)

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
_active = agreements.c.state == AgreementState.ACTIVE.value
# At most one active agreement per customer, even against a concurrent writer.
Index(
    "one_active_agreement_per_customer",
    agreements.c.customer_uin,
    unique=True,
    sqlite_where=_active,
    postgresql_where=_active,
)

# Records, cutovers and the inbox are logs keyed by the application: no foreign
# keys, so a record about an unknown customer (a failed precheck) still saves.
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
    Column("updated_at", UtcDateTime, nullable=False),
)

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
    UniqueConstraint("application_id", "event", "recipient_uin", name="one_message_per_event"),
)


# ---- the demo ledger --------------------------------------------------------

DEMO_DISTRIBUTOR = "10000000001"
DEMO_RESELLER = "10000000002"
DEMO_SECOND_LEVEL_RESELLER = "10000000003"
DEMO_SUBUSER = "10000000004"


class _DemoCustomer(NamedTuple):
    uin: str
    partner_uin: str
    condition: str
    """What the demo shows with this customer."""
    fields: dict[str, Any]


_HEALTHY: dict[str, Any] = {"credit_cents": 100_000}
_DEMO_CUSTOMERS = (
    _DemoCustomer(
        "20000000001", DEMO_RESELLER, "ready, card bound", {**_HEALTHY, "card_bound": True}
    ),
    _DemoCustomer("20000000002", DEMO_RESELLER, "ready, no card", _HEALTHY),
    _DemoCustomer("20000000003", DEMO_RESELLER, "frozen", {**_HEALTHY, "frozen": True}),
    _DemoCustomer(
        "20000000004", DEMO_RESELLER, "group member", {**_HEALTHY, "group_role": GroupRole.MEMBER}
    ),
    _DemoCustomer(
        "20000000005",
        DEMO_RESELLER,
        "negative credit, postpaid privilege",
        {"credit_cents": -1_250, "overdue_privilege": OverduePrivilege.POSTPAID},
    ),
    _DemoCustomer(
        "20000000006",
        DEMO_RESELLER,
        "in a savings plan unit",
        {**_HEALTHY, "savings_unit": "sp-demo"},
    ),
    _DemoCustomer(
        "20000000011",
        DEMO_SECOND_LEVEL_RESELLER,
        "ready, card bound",
        {**_HEALTHY, "card_bound": True},
    ),
    _DemoCustomer("20000000012", DEMO_SECOND_LEVEL_RESELLER, "ready, no card", _HEALTHY),
    _DemoCustomer(
        "20000000013",
        DEMO_SECOND_LEVEL_RESELLER,
        "prepaid privilege",
        {**_HEALTHY, "overdue_privilege": OverduePrivilege.PREPAID},
    ),
)


# ---- the partner center -----------------------------------------------------

# A connection execution option: this transaction will write (SQLite: BEGIN IMMEDIATE).
_WRITE: Final = "unbind_write"


class SqlPartnerCenter:
    """The :class:`~activities.partner_center.PartnerCenter` on SQL, plus the
    ledger administration behind ``unbind ledger``. Safe to share between
    threads and to open from several processes at once."""

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        """``pool_size`` should cover the worker's activity threads, so no
        activity waits for a connection."""
        parsed = make_url(url)
        database = parsed.database or ""
        sqlite_file = parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:")
        if sqlite_file:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        pooled = sqlite_file or parsed.get_backend_name() != "sqlite"
        self._engine = create_engine(
            url,
            pool_pre_ping=parsed.get_backend_name() != "sqlite",
            # An in-memory SQLite database has a single-connection pool.
            **({"pool_size": pool_size, "max_overflow": pool_size // 2} if pooled else {}),
        )
        if self._engine.dialect.name == "sqlite":
            _tune_sqlite(self._engine)
        with self._write() as conn:
            metadata.create_all(conn)

    @classmethod
    def from_env(cls) -> SqlPartnerCenter:
        return cls(database_url_from_env())

    def dispose(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> SqlPartnerCenter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    @property
    def url(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    # ---- transactions -----------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    def _insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        """An INSERT that can be made idempotent with ``on_conflict_do_*``."""
        match self._engine.dialect.name:
            case "sqlite":
                return sqlite.insert(table)
            case "postgresql":
                return postgresql.insert(table)
            case other:
                raise NotImplementedError(f"unsupported database: {other}")

    # ---- the PartnerCenter protocol ---------------------------------------

    def account(self, uin: str) -> AccountSnapshot | None:
        with self._read() as conn:
            row = conn.execute(select(accounts).where(accounts.c.uin == uin)).first()
            if row is None:
                return None
            agreement = _current_agreement(conn, uin)
        bound = _if_active(agreement)
        return AccountSnapshot(
            uin=row.uin,
            name=row.name,
            owner_uin=row.owner_uin,
            frozen=row.frozen,
            credit_cents=row.credit_cents,
            overdue_privilege=row.overdue_privilege,
            group_role=row.group_role,
            savings_unit=row.savings_unit,
            card_bound=row.card_bound,
            partner_uin=bound.partner_uin if bound else None,
            partner_kind=bound.kind if bound else None,
            distributor_uin=bound.distributor_uin if bound else None,
            agreement_id=agreement.id if agreement else None,
            agreement_state=agreement.state.value if agreement else None,
        )

    def open_application_for(self, customer_uin: str, *, other_than: str) -> str | None:
        with self._read() as conn:
            return conn.execute(
                select(unbinding_records.c.application_id)
                .where(
                    unbinding_records.c.customer_uin == customer_uin,
                    unbinding_records.c.application_id != other_than,
                    unbinding_records.c.status.not_in(TERMINAL_STATUSES),
                )
                .order_by(unbinding_records.c.submitted_at)
                .limit(1)
            ).scalar()

    def save_record(self, record: UnbindingRecord) -> None:
        values = record.model_dump(exclude={"failed_checks"})
        values["failed_checks"] = json.dumps(
            [check.model_dump(mode="json") for check in record.failed_checks]
        )
        stmt = self._insert(unbinding_records).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[unbinding_records.c.application_id],
            set_={name: stmt.excluded[name] for name in values if name != "application_id"},
            # A late retry of an older write never overwrites a newer state.
            where=unbinding_records.c.revision < stmt.excluded.revision,
        )
        with self._write() as conn:
            conn.execute(stmt)

    def deliver(self, notification: Notification) -> int:
        recipients = list(dict.fromkeys(notification.recipients))
        if not recipients:
            return 0
        delivered_at = _now()
        rows = [
            {
                "recipient_uin": recipient,
                "application_id": notification.application_id,
                "workflow_id": notification.workflow_id,
                "event": notification.event,
                "subject": notification.subject,
                "body": notification.body,
                "at": notification.at,
                "delivered_at": delivered_at,
            }
            for recipient in recipients
        ]
        # RETURNING names exactly the new rows: rowcount is not reliable across drivers.
        stmt = (
            self._insert(inbox)
            .values(rows)
            .on_conflict_do_nothing(
                index_elements=[inbox.c.application_id, inbox.c.event, inbox.c.recipient_uin]
            )
            .returning(inbox.c.id)
        )
        with self._write() as conn:
            return len(conn.execute(stmt).all())

    def cut_over(self, request: CutoverRequest) -> CutoverResult:
        with self._write() as conn:
            # Lock the relationship first: a concurrent duplicate of this cutover
            # then waits here and, below, finds the cutover the first one made.
            agreement = conn.execute(
                select(agreements.c.id, agreements.c.partner_uin)
                .where(agreements.c.customer_uin == request.customer_uin, _active)
                .with_for_update()
            ).first()
            done = conn.execute(
                select(cutovers.c.effective_at, cutovers.c.agreement_id).where(
                    cutovers.c.application_id == request.application_id
                )
            ).first()
            if done is not None:
                return CutoverResult(effective_at=done.effective_at, agreement_id=done.agreement_id)
            if agreement is None or agreement.partner_uin != request.reseller_uin:
                bound_to = agreement.partner_uin if agreement else "no partner"
                raise RelationshipConflict(
                    f"customer {request.customer_uin} is bound to {bound_to}, "
                    f"not to {request.reseller_uin}: application "
                    f"{request.application_id} cannot cut it over"
                )
            effective_at = _now()
            conn.execute(
                update(agreements)
                .where(agreements.c.id == agreement.id)
                .values(
                    state=AgreementState.INVALIDATED,
                    invalidated_at=effective_at,
                    invalidated_by_application=request.application_id,
                )
            )
            conn.execute(
                cutovers.insert().values(
                    application_id=request.application_id,
                    customer_uin=request.customer_uin,
                    partner_uin=agreement.partner_uin,
                    agreement_id=agreement.id,
                    effective_at=effective_at,
                )
            )
        return CutoverResult(effective_at=effective_at, agreement_id=agreement.id)

    # ---- ledger administration --------------------------------------------

    def add_partner(
        self,
        uin: str,
        *,
        kind: PartnerKind,
        distributor_uin: str | None = None,
        name: str | None = None,
    ) -> None:
        """Register a partner, creating its account if missing. Repeating it
        with the same kind and distributor changes nothing."""
        with self._write() as conn:
            _add_partner(
                conn, uin, kind=PartnerKind(kind), distributor_uin=distributor_uin, name=name
            )

    def add_customer(
        self, uin: str, *, partner_uin: str, name: str | None = None, card: bool = False
    ) -> None:
        """Bind a customer to a partner with a new active agreement, creating
        the account if missing (``name`` and ``card`` apply to a new account
        only). A customer unbound earlier may be bound again."""
        with self._write() as conn:
            _add_customer(conn, uin, partner_uin=partner_uin, name=name, card=card)

    def add_subuser(self, uin: str, *, owner_uin: str) -> None:
        """Create a sub-user of a root account."""
        with self._write() as conn:
            _add_subuser(conn, uin, owner_uin=owner_uin)

    def set_account(
        self,
        uin: str,
        *,
        frozen: bool | None = None,
        credit_cents: int | None = None,
        overdue_privilege: OverduePrivilege | None = None,
        group_role: GroupRole | None = None,
        savings_unit: str | _Unchanged | None = UNCHANGED,
        card_bound: bool | None = None,
    ) -> None:
        """Change the given fields; ``savings_unit=None`` takes the account out
        of its unit."""
        changes: dict[str, Any] = {
            name: value
            for name, value in {
                "frozen": frozen,
                "credit_cents": credit_cents,
                "overdue_privilege": overdue_privilege,
                "group_role": group_role,
                "card_bound": card_bound,
            }.items()
            if value is not None
        }
        if not isinstance(savings_unit, _Unchanged):
            changes["savings_unit"] = savings_unit
        with self._write() as conn:
            _set_account(conn, uin, changes)

    def show(self, uin: str) -> dict[str, Any]:
        """The account as JSON-ready data: its fields, its partner (None once
        unbound), its current or latest agreement, and its own partner profile."""
        with self._read() as conn:
            row = _require_account(conn, uin)
            agreement = _current_agreement(conn, uin)
            profile = _partner_row(conn, uin)
        bound = _if_active(agreement)
        return {
            "uin": row.uin,
            "name": row.name,
            "owner_uin": row.owner_uin,
            "frozen": row.frozen,
            "credit": amount_from_cents(row.credit_cents),
            "overdue_privilege": row.overdue_privilege.value,
            "group_role": row.group_role.value,
            "savings_unit": row.savings_unit,
            "card_bound": row.card_bound,
            "partner": {
                "uin": bound.partner_uin,
                "kind": bound.kind.value,
                "distributor_uin": bound.distributor_uin,
            }
            if bound is not None
            else None,
            "agreement": {
                "id": agreement.id,
                "state": agreement.state.value,
                "partner_uin": agreement.partner_uin,
                "signed_at": agreement.signed_at.isoformat(),
                "invalidated_at": _iso(agreement.invalidated_at),
            }
            if agreement is not None
            else None,
            "partner_profile": {
                "kind": profile.kind.value,
                "distributor_uin": profile.distributor_uin,
            }
            if profile is not None
            else None,
        }

    def seed_demo(self) -> dict[str, Any]:
        """Create the demo ledger, in one transaction. Accounts that already
        exist are left as they are, so re-seeding never undoes a demo run."""
        created: list[str] = []
        with self._write() as conn:

            def missing(uin: str) -> bool:
                if _account_row(conn, uin) is None:
                    created.append(uin)
                    return True
                return False

            if missing(DEMO_DISTRIBUTOR):
                _add_partner(
                    conn, DEMO_DISTRIBUTOR, kind=PartnerKind.DISTRIBUTOR, name="Demo distributor"
                )
            if missing(DEMO_RESELLER):
                _add_partner(conn, DEMO_RESELLER, kind=PartnerKind.RESELLER, name="Demo reseller")
            if missing(DEMO_SECOND_LEVEL_RESELLER):
                _add_partner(
                    conn,
                    DEMO_SECOND_LEVEL_RESELLER,
                    kind=PartnerKind.SECOND_LEVEL_RESELLER,
                    distributor_uin=DEMO_DISTRIBUTOR,
                    name="Demo second-level reseller",
                )
            if missing(DEMO_SUBUSER):
                _add_subuser(conn, DEMO_SUBUSER, owner_uin=DEMO_RESELLER)
            for customer in _DEMO_CUSTOMERS:
                if missing(customer.uin):
                    _add_customer(
                        conn,
                        customer.uin,
                        partner_uin=customer.partner_uin,
                        name=f"Demo customer ({customer.condition})",
                        card=False,
                    )
                    _set_account(conn, customer.uin, customer.fields)
        return {
            "distributor": DEMO_DISTRIBUTOR,
            "reseller": DEMO_RESELLER,
            "second_level_reseller": DEMO_SECOND_LEVEL_RESELLER,
            "reseller_subuser": DEMO_SUBUSER,
            "customers": [
                {"uin": c.uin, "partner_uin": c.partner_uin, "condition": c.condition}
                for c in _DEMO_CUSTOMERS
            ],
            "created": created,
        }

    # ---- reading back -----------------------------------------------------

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

    def close_stopped_application(
        self, application_id: str, *, at: datetime
    ) -> RecordClosure | None:
        """Close the record of an application whose workflow was stopped by hand
        (terminated), which left it open and so blocks every new application
        for the customer (the ``open_application`` check).

        ``COMPLETED``, with its billing boundary, when the cutover had been
        made; ``CANCELLED`` otherwise. The caller must have verified that no
        run of the application is still going. Idempotent: a record already
        closed is returned unchanged. None when the application has no record
        (it was stopped before its checks passed, so it blocks nothing)."""
        with self._write() as conn:
            row = conn.execute(
                select(unbinding_records)
                .where(unbinding_records.c.application_id == application_id)
                .with_for_update()
            ).first()
            if row is None:
                return None
            record = _record_from(row)
            if record.status.is_terminal:
                return RecordClosure(record=record, closed_now=False)
            cutover = conn.execute(
                select(cutovers.c.effective_at).where(cutovers.c.application_id == application_id)
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
        return RecordClosure(record=closed, closed_now=True)

    def records(self, customer_uin: str | None = None) -> list[UnbindingRecord]:
        """The "Unbinding Customers" page, oldest application first."""
        query = select(unbinding_records).order_by(
            unbinding_records.c.submitted_at, unbinding_records.c.application_id
        )
        if customer_uin is not None:
            query = query.where(unbinding_records.c.customer_uin == customer_uin)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [_record_from(row) for row in rows]

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


class RecordClosure(NamedTuple):
    """What :meth:`SqlPartnerCenter.close_stopped_application` found or did."""

    record: UnbindingRecord
    closed_now: bool
    """False when the record was already closed (a repeated repair)."""


def _record_from(row: _Row) -> UnbindingRecord:
    return UnbindingRecord.model_validate(
        {**row._mapping, "failed_checks": json.loads(row.failed_checks)}
    )


# ---- SQLite tuning ------------------------------------------------------------


def _tune_sqlite(engine: Engine) -> None:
    """WAL for readers beside a writer, a generous busy timeout for several
    threads and processes, and our own BEGIN so that writers take the write
    lock up front (BEGIN IMMEDIATE) instead of failing on a lock upgrade."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite stops issuing BEGIN itself
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA busy_timeout=30000",
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        writes = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


# ---- ledger helpers, each inside the caller's transaction ----------------------

_UIN = re.compile(UIN_PATTERN)


def _check_uin(uin: str, field: str = "uin") -> None:
    if not _UIN.fullmatch(uin):
        raise ValueError(f"{field} {uin!r} is not a UIN (5-20 digits, no leading zero)")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _account_row(conn: Connection, uin: str) -> _Row | None:
    return conn.execute(select(accounts).where(accounts.c.uin == uin)).first()


def _require_account(conn: Connection, uin: str) -> _Row:
    row = _account_row(conn, uin)
    if row is None:
        raise UnknownAccount(f"no account {uin}")
    return row


def _partner_row(conn: Connection, uin: str) -> _Row | None:
    return conn.execute(select(partners).where(partners.c.uin == uin)).first()


def _current_agreement(conn: Connection, customer_uin: str) -> _Row | None:
    """The active agreement, else the latest one, with its partner's profile."""
    return conn.execute(
        select(
            agreements.c.id,
            agreements.c.state,
            agreements.c.partner_uin,
            agreements.c.signed_at,
            agreements.c.invalidated_at,
            partners.c.kind,
            partners.c.distributor_uin,
        )
        .join(partners, partners.c.uin == agreements.c.partner_uin)
        .where(agreements.c.customer_uin == customer_uin)
        .order_by(case((_active, 0), else_=1), agreements.c.id.desc())
        .limit(1)
    ).first()


def _if_active(agreement: _Row | None) -> _Row | None:
    return agreement if agreement is not None and agreement.state is AgreementState.ACTIVE else None


def _ensure_account(conn: Connection, uin: str, **values: Any) -> _Row:
    row = _account_row(conn, uin)
    if row is None:
        conn.execute(accounts.insert().values(uin=uin, **values))
        row = _require_account(conn, uin)
    return row


def _add_partner(
    conn: Connection,
    uin: str,
    *,
    kind: PartnerKind,
    distributor_uin: str | None = None,
    name: str | None = None,
) -> None:
    _check_uin(uin)
    if kind is PartnerKind.SECOND_LEVEL_RESELLER and distributor_uin is None:
        raise ValueError(f"second-level reseller {uin} needs its distributor")
    if kind is not PartnerKind.SECOND_LEVEL_RESELLER and distributor_uin is not None:
        raise ValueError(f"only a second-level reseller has a distributor, not a {kind}")
    if distributor_uin is not None:
        _check_uin(distributor_uin, "distributor_uin")
        distributor = _partner_row(conn, distributor_uin)
        if distributor is None:
            raise UnknownAccount(f"no distributor {distributor_uin}")
        if distributor.kind is not PartnerKind.DISTRIBUTOR:
            raise LedgerConflict(
                f"partner {distributor_uin} is a {distributor.kind}, not a distributor"
            )
    account = _ensure_account(conn, uin, name=name)
    if account.owner_uin is not None:
        raise LedgerConflict(
            f"account {uin} is a sub-user of {account.owner_uin}, not a root account"
        )
    existing = _partner_row(conn, uin)
    if existing is None:
        conn.execute(partners.insert().values(uin=uin, kind=kind, distributor_uin=distributor_uin))
    elif existing.kind is not kind or existing.distributor_uin != distributor_uin:
        under = f" under {existing.distributor_uin}" if existing.distributor_uin else ""
        raise LedgerConflict(f"partner {uin} is already a {existing.kind}{under}")


def _add_customer(
    conn: Connection, uin: str, *, partner_uin: str, name: str | None, card: bool
) -> None:
    _check_uin(uin)
    _check_uin(partner_uin, "partner_uin")
    partner = _partner_row(conn, partner_uin)
    if partner is None:
        raise UnknownAccount(f"no partner {partner_uin}")
    if partner.kind is PartnerKind.DISTRIBUTOR:
        raise LedgerConflict(
            f"{partner_uin} is a distributor: customers belong to a reseller "
            "or a second-level reseller"
        )
    if uin == partner_uin:
        raise LedgerConflict(f"account {uin} cannot be its own customer")
    account = _ensure_account(conn, uin, name=name, card_bound=card)
    if account.owner_uin is not None:
        raise LedgerConflict(f"account {uin} is a sub-user of {account.owner_uin}, not a customer")
    bound_to = conn.execute(
        select(agreements.c.partner_uin).where(agreements.c.customer_uin == uin, _active)
    ).scalar()
    if bound_to == partner_uin:
        return
    if bound_to is not None:
        raise LedgerConflict(f"customer {uin} is already bound to partner {bound_to}")
    conn.execute(
        agreements.insert().values(
            customer_uin=uin,
            partner_uin=partner_uin,
            state=AgreementState.ACTIVE,
            signed_at=_now(),
        )
    )


def _add_subuser(conn: Connection, uin: str, *, owner_uin: str) -> None:
    _check_uin(uin)
    _check_uin(owner_uin, "owner_uin")
    if uin == owner_uin:
        raise LedgerConflict(f"account {uin} cannot be its own sub-user")
    owner = _require_account(conn, owner_uin)
    if owner.owner_uin is not None:
        raise LedgerConflict(f"account {owner_uin} is itself a sub-user, not a root account")
    account = _account_row(conn, uin)
    if account is None:
        conn.execute(accounts.insert().values(uin=uin, owner_uin=owner_uin))
    elif account.owner_uin != owner_uin:
        owned_by = f"a sub-user of {account.owner_uin}" if account.owner_uin else "a root account"
        raise LedgerConflict(f"account {uin} already exists as {owned_by}")


def _set_account(conn: Connection, uin: str, changes: Mapping[str, Any]) -> None:
    _require_account(conn, uin)
    if changes:
        conn.execute(update(accounts).where(accounts.c.uin == uin).values(**changes))
