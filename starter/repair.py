"""Repairing what a Terminate leaves behind.

Cancel ends an application cleanly; Terminate stops its workflow on the spot,
so nobody is told and the unbinding record stays in its last open status. The
``open_application`` check reads those records, so the customer could never
apply again. :func:`close_terminated` is the repair behind
``unbind close-terminated``: for each open record of the customer whose
workflow Temporal reports as stopped (terminated, failed or timed out; never a
running one), it tells the parties and closes the record, as the workflow
would have.

Both happen in one transaction, under the lock a cutover attempt takes on the
record: whichever commits first wins, so an attempt still in flight after the
terminate either made the cutover (the record closes ``COMPLETED``) or finds
the record closed and refuses (``CANCELLED``, the customer stays bound). No
waiting, and running the repair again sends nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from activities.sql import SqlPartnerCenter
from starter.client import RunReport, UnbindingClient, customer_ref
from starter.errors import BadInput, Refused
from workflows import texts
from workflows.fields import is_operator
from workflows.model import Notification, UnbindingRecord, UnbindStatus

STOPPED_WITHOUT_CLOSING = frozenset({"TERMINATED", "FAILED", "TIMED_OUT"})
"""Execution statuses of a run that ended without the workflow closing its record."""


class Repair(BaseModel):
    """One application closed (or found closed) by :func:`close_terminated`."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    run_id: str
    application_id: str
    execution_status: str
    status: UnbindStatus
    """The record's status now: CANCELLED, or COMPLETED if the cutover was made."""
    closed_now: bool
    notified: int
    """System messages delivered by this call (0 when they went out before)."""


async def close_terminated(
    client: UnbindingClient,
    partner_center: SqlPartnerCenter,
    customer_uin: str,
    *,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> list[Repair]:
    """Close every open record of the customer whose workflow was stopped by hand.

    Refuses (:class:`Refused`) while a run of such an application is still
    going (cancel or withdraw it instead). An empty list means there was
    nothing to repair.
    """
    customer = customer_ref(customer_uin)
    require_operator(actor)
    at = now or datetime.now(UTC)
    repairs = []
    for record in partner_center.records(customer):
        if record.status.is_terminal:
            continue
        run = await client.run_of_application(customer, record.application_id)
        _require_stopped(record, run)
        assert run is not None
        closure = partner_center.close_stopped_application(
            record.application_id,
            at=at,
            announce=lambda closed: _outcome_notice(closed, actor, reason, at),
        )
        assert closure is not None
        repairs.append(
            Repair(
                workflow_id=run.workflow_id,
                run_id=run.run_id,
                application_id=record.application_id,
                execution_status=run.execution_status,
                status=closure.record.status,
                closed_now=closure.closed_now,
                notified=closure.notified,
            )
        )
    return repairs


def require_operator(actor: str) -> None:
    if not is_operator(actor):
        raise BadInput("--as", "only an operator (operator:<name>) may close an application")


def _require_stopped(record: UnbindingRecord, run: RunReport | None) -> None:
    application = f"application {record.application_id} ({record.workflow_id})"
    if run is None:
        raise Refused(
            f"Temporal knows no run of {application}: the list view may lag a moment "
            "behind, try again"
        )
    if run.execution_status == "RUNNING":
        raise Refused(
            f"{application} is still running ({record.status}): cancel it "
            "(Web UI: Request Cancellation) or withdraw it; nothing to repair"
        )
    if run.execution_status not in STOPPED_WITHOUT_CLOSING:
        raise Refused(
            f"the latest run of {application} is {run.execution_status}, not stopped by "
            f"hand, yet its record is {record.status}: investigate before closing it"
        )


def _outcome_notice(
    record: UnbindingRecord, actor: str, reason: str | None, at: datetime
) -> Notification:
    """The ending message for a record just closed (its status is the outcome)."""
    outcome, effective_at = record.status, record.effective_at
    # The same message the workflow sends when it ends an application itself.
    message = texts.outcome(
        outcome,
        customer_uin=record.customer_uin,
        reseller_uin=record.reseller_uin or record.initiator_uin,
        effective_at=effective_at,
        reason=reason,
        closed_by=actor,
    )
    # As the workflow's own ``publishing.parties``: the reseller too when the
    # customer applied, each once.
    everyone = [record.initiator_uin, record.customer_uin, record.reseller_uin]
    parties = list(dict.fromkeys(u for u in [*everyone, record.distributor_uin] if u))
    return Notification(
        application_id=record.application_id,
        workflow_id=record.workflow_id,
        # The event the workflow itself announces an ending with: one message per
        # party even if the workflow had begun announcing before it was stopped.
        event=outcome.lower(),
        recipients=tuple(parties),
        subject=message.subject,
        body=message.body,
        at=at,
    )
