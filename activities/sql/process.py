"""The :class:`~activities.partner_center.PartnerCenter` protocol on SQL: what
the activities read and write while an application runs. Every write is one
idempotent transaction, keyed by the application."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache

from sqlalchemy import Connection, Executable, and_, delete, func, or_, select, update

from activities.partner_center import (
    AccountSnapshot,
    ApplicationClosed,
    RelationshipConflict,
    ReusedApplicationId,
    Submitted,
)
from activities.sql.database import (
    SqlDatabase,
    SqlRow,
    current_agreement,
    discount_names,
    idempotent_insert,
    if_active,
    record_from,
    standing_of,
)
from activities.sql.evidence import EVIDENCE_FIELDS, keep_evidence_in
from activities.sql.schema import (
    AgreementState,
    accounts,
    active,
    agreements,
    cutovers,
    discounts,
    inbox,
    now,
    unbinding_records,
)
from workflows.model import (
    TERMINAL_STATUSES,
    CutoverRequest,
    CutoverResult,
    Notification,
    Outbox,
    UnbindingRecord,
    UnbindStatus,
)
from workflows.texts import completed_on


class ProcessStore(SqlDatabase):
    """The reads and idempotent writes behind the activities."""

    def account(self, uin: str) -> AccountSnapshot | None:
        with self._read() as conn:
            row = conn.execute(select(accounts).where(accounts.c.uin == uin)).first()
            if row is None:
                return None
            agreement = current_agreement(conn, uin)
            standing = standing_of(conn, uin)
            active_discounts = len(discount_names(conn, uin, active_only=True))
        bound = if_active(agreement)
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
            **standing,
            active_discounts=active_discounts,
        )

    def discounts(self, customer_uin: str) -> tuple[str, ...]:
        # Active ones and the ones the reseller deactivated before applying:
        # all end with the relationship (see docs/SAFEGUARDS.md).
        with self._read() as conn:
            return tuple(discount_names(conn, customer_uin, active_only=False))

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

    def submitted_since(
        self, customer_uin: str, since: datetime, *, other_than: str
    ) -> list[Submitted]:
        records = unbinding_records.c
        with self._read() as conn:
            rows = conn.execute(
                # The pair's reseller: the initiator of a reseller's application.
                select(
                    func.coalesce(records.reseller_uin, records.initiator_uin).label("reseller"),
                    records.submitted_at,
                ).where(
                    records.customer_uin == customer_uin,
                    records.submitted_at >= since,
                    records.application_id != other_than,
                    records.status != UnbindStatus.PRECHECK_FAILED,
                )
            ).all()
        return [Submitted(row.reseller, row.submitted_at) for row in rows]

    def record_of(self, application_id: str) -> UnbindingRecord | None:
        with self._read() as conn:
            row = conn.execute(
                select(unbinding_records).where(
                    unbinding_records.c.application_id == application_id
                )
            ).first()
        return None if row is None else record_from(row)

    def save_record(self, record: UnbindingRecord) -> None:
        with self._write() as conn:
            save_record_in(conn, record)

    def deliver(self, notification: Notification) -> int:
        with self._write() as conn:
            return deliver_in(conn, notification)

    def commit(self, outbox: Outbox) -> int:
        with self._write() as conn:
            return commit_in(conn, outbox)

    def cut_over(self, request: CutoverRequest) -> CutoverResult:
        refusal: RelationshipConflict | None = None
        with self._write() as conn:
            # Lock the relationship first: a concurrent duplicate of this cutover
            # then waits here and, below, finds the cutover the first one made.
            agreement = conn.execute(
                select(agreements.c.id, agreements.c.partner_uin)
                .where(agreements.c.customer_uin == request.customer_uin, active)
                .with_for_update()
            ).first()
            # Then the record, which `unbind close-terminated` locks to close it:
            # whichever of the two commits first, the other sees it (the fence).
            record = conn.execute(
                select(
                    unbinding_records.c.customer_uin,
                    unbinding_records.c.status,
                    unbinding_records.c.revision,
                )
                .where(unbinding_records.c.application_id == request.application_id)
                .with_for_update()
            ).first()
            done = conn.execute(
                select(
                    cutovers.c.customer_uin, cutovers.c.effective_at, cutovers.c.agreement_id
                ).where(cutovers.c.application_id == request.application_id)
            ).first()
            # The record and messages of the change into CUTTING_OVER: written
            # whatever the cutover does (a refusal is an answer, not a rollback).
            if request.outbox is not None:
                commit_in(conn, request.outbox)
            try:
                _refuse_a_foreign_or_closed_application(request, record, done)
                if done is not None:  # a retry after the commit
                    return CutoverResult(
                        effective_at=done.effective_at, agreement_id=done.agreement_id
                    )
                if agreement is None or agreement.partner_uin != request.reseller_uin:
                    bound_to = agreement.partner_uin if agreement else "no partner"
                    raise RelationshipConflict(
                        f"customer {request.customer_uin} is bound to {bound_to}, "
                        f"not to {request.reseller_uin}: application "
                        f"{request.application_id} cannot cut it over"
                    )
            except RelationshipConflict as refused:
                refusal = refused
            else:
                cut = _cut_over_in(conn, request, agreement.id, agreement.partner_uin)
                if request.ending is not None:
                    commit_in(conn, completed_on(request.ending, cut.effective_at))
                return cut
        raise refusal


def _cut_over_in(
    conn: Connection, request: CutoverRequest, agreement_id: int, partner_uin: str
) -> CutoverResult:
    """End the relationship of ``request``, inside the caller's transaction."""
    # A cutover at the end of the month is never billed from before its
    # date (a clock behind the workflow's; late, it is the commit's).
    effective_at = max(filter(None, (now(), request.not_before)))
    conn.execute(
        update(agreements)
        .where(agreements.c.id == agreement_id)
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
            partner_uin=partner_uin,
            agreement_id=agreement_id,
            effective_at=effective_at,
        )
    )
    # The reseller's discounts end with the relationship (the plan listed them).
    conn.execute(delete(discounts).where(discounts.c.customer_uin == request.customer_uin))
    return CutoverResult(effective_at=effective_at, agreement_id=agreement_id)


def _refuse_a_foreign_or_closed_application(
    request: CutoverRequest, record: SqlRow | None, done: SqlRow | None
) -> None:
    """The cutover belongs to one application of one customer, and only while
    that application is open. A reused application id (another customer's, or
    a finished application run again) and an attempt that lands after
    ``unbind close-terminated`` closed the record are refused, never reported
    as this run's success."""
    application = f"application {request.application_id}"
    for owner in (record, done):
        if owner is not None and owner.customer_uin != request.customer_uin:
            raise ReusedApplicationId(
                f"{application} belongs to customer {owner.customer_uin}, not to "
                f"{request.customer_uin}: it cannot cut over {request.customer_uin}"
            )
    if (
        record is not None
        and record.status in TERMINAL_STATUSES
        and not _closed_by_this_cutover(request, record, done)
    ):
        raise ApplicationClosed(
            f"{application} is already closed as {record.status}: its cutover "
            f"cannot run again (customer {request.customer_uin})"
        )


def _closed_by_this_cutover(request: CutoverRequest, record: SqlRow, done: SqlRow | None) -> bool:
    """A retry of a cutover that committed with its ending (a worker that died
    before reporting it): the record is closed by that very commit, at the
    revision the ending carries, so the retry reports the committed cutover."""
    ending = request.ending.record if request.ending is not None else None
    return (
        done is not None
        and ending is not None
        and (record.status, record.revision) == (ending.status, ending.revision)
    )


def commit_in(conn: Connection, outbox: Outbox) -> int:
    """The outbox's record, then its messages, inside the caller's
    transaction; how many messages were new.

    A record closed otherwise meanwhile (``unbind close-terminated`` closing
    what a terminated run left open, while one of that run's attempts was
    still going) takes neither the late record nor its messages: the parties
    were told of the closing, and a confirmation or a withdrawal after it
    would contradict it."""
    record = outbox.record
    if record is not None and not save_record_in(conn, record):
        stored = conn.execute(
            select(unbinding_records.c.status).where(
                unbinding_records.c.application_id == record.application_id
            )
        ).scalar()
        if stored in TERMINAL_STATUSES and stored != record.status:
            return 0
    return sum(deliver_in(conn, n) for n in outbox.notifications)


def save_record_in(conn: Connection, record: UnbindingRecord) -> bool:
    """Upsert the record (and keep its evidence), inside the caller's
    transaction; whether it was written (an older revision, another
    customer's id or a closed record is not)."""
    values = record.model_dump(exclude={"failed_checks", "plan", *EVIDENCE_FIELDS})
    values["failed_checks"] = json.dumps(
        [check.model_dump(mode="json") for check in record.failed_checks]
    )
    plan = record.plan
    values["cutover_plan"] = None if plan is None else plan.model_dump_json()
    values["effective_on"] = None if plan is None else plan.effective_on
    written = conn.execute(_record_upsert(conn.dialect.name, tuple(values)), values).first()
    keep_evidence_in(conn, record)
    return written is not None


@cache
def _record_upsert(dialect: str, columns: tuple[str, ...]) -> Executable:
    """The record's upsert, built once per dialect and column set: the values
    are bound at execution, so the database layer compiles it once (issue 12)."""
    stmt = idempotent_insert(dialect, unbinding_records)
    stored = unbinding_records.c
    return stmt.on_conflict_do_update(
        index_elements=[stored.application_id],
        set_={name: stmt.excluded[name] for name in columns if name != "application_id"},
        where=and_(
            # A late retry of an older write never overwrites a newer state.
            stored.revision < stmt.excluded.revision,
            # A reused application id never takes over another customer's record.
            stored.customer_uin == stmt.excluded.customer_uin,
            stored.workflow_id == stmt.excluded.workflow_id,
            # A closed record stays closed (it may be written again as it is).
            or_(stored.status.not_in(TERMINAL_STATUSES), stored.status == stmt.excluded.status),
        ),
    ).returning(stored.revision)


def deliver_in(conn: Connection, notification: Notification) -> int:
    """The inbox rows of one notification, inside the caller's transaction;
    how many were new."""
    recipients = list(dict.fromkeys(notification.recipients))
    if not recipients:
        return 0
    delivered_at = now()
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
        idempotent_insert(conn.dialect.name, inbox)
        .values(rows)
        # Any unique index: one message per application, customer, event and
        # recipient (schema.py), or the coarser index of an older SQLite file.
        .on_conflict_do_nothing()
        .returning(inbox.c.id)
    )
    return len(conn.execute(stmt).all())
