"""What the outside world sees of an application: the search attributes and
current details operators read in the Web UI, the row of the "Unbinding
Customers" page, and the system messages people receive (both written by
activities, each called with its summary and policy)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

from activities.unbinding import UnbindingActivities
from workflows import search_attributes as sa
from workflows.model import (
    ActionKind,
    DecisionRecord,
    Notification,
    Outbox,
    UnbindingRecord,
    UnbindingState,
)
from workflows.patches import LATER_PATCHES, LOCAL_STEPS_PATCH, started_with_every_patch
from workflows.settings import SETTINGS, ActivityPolicy
from workflows.state import WorkflowState
from workflows.texts import Message, describe


def local_steps() -> bool:
    """Whether this run takes issue 12's path (the outbox, one write per state
    change). In a run that took it before every patch was decided at the start
    (``started_with_every_patch``), every patch is decided here, before any
    local activity."""
    if started_with_every_patch():
        return True
    if not workflow.patched(LOCAL_STEPS_PATCH):
        return False
    for patch in LATER_PATCHES:
        workflow.patched(patch)
    return True


def reads_locally() -> bool:
    """Whether the partner center's reads (and the last write) run as local
    activities: only in runs that took issue 12's path before every patch was
    decided at the start (``workflows.patches.EVERY_PATCH_AT_THE_START`` says why
    no longer)."""
    return not started_with_every_patch() and local_steps()


# A local activity's retries back off inside the worker, holding the workflow
# task, only this long; a longer backoff (the partner center down) waits on a
# durable timer instead, so the task completes and people's actions are still
# answered meanwhile.
LOCAL_RETRY_THRESHOLD = timedelta(seconds=2)


def publish(state: UnbindingState) -> None:
    """Current details now, and the search attributes operators filter on in
    the Web UI: now in histories from before the outbox, else with the next
    write (``flush``), once per state change that is seen."""
    workflow.set_current_details(describe(state))
    if not local_steps():
        workflow.upsert_search_attributes(_search_attributes(state))


def _search_attributes(state: UnbindingState) -> list[SearchAttributeUpdate[Any]]:
    updates: list[SearchAttributeUpdate[Any]] = [
        sa.UNBIND_STATUS.value_set(state.status.value),
        sa.CUSTOMER_UIN.value_set(state.customer_uin),
        sa.RESELLER_UIN.value_set(state.reseller_uin or state.initiator_uin),
        sa.UNBIND_DEADLINE.value_set(state.deadline)
        if state.deadline
        else sa.UNBIND_DEADLINE.value_unset(),
    ]
    if state.distributor_uin:
        updates.append(sa.DISTRIBUTOR_UIN.value_set(state.distributor_uin))
    return updates


def show_search_attributes(state: WorkflowState) -> None:
    """Upsert the search attributes if they changed since this run last did."""
    public = state.public
    shown = (public.status, public.deadline, public.reseller_uin, public.distributor_uin)
    if shown != state.search_attributes_shown:
        state.search_attributes_shown = shown
        workflow.upsert_search_attributes(_search_attributes(public))


def record_of(state: UnbindingState, *, revision: int, at: datetime) -> UnbindingRecord:
    """The record row for ``state``; ``revision`` only grows, so a late retry of
    an older write never overwrites a newer one."""
    return UnbindingRecord(
        application_id=state.application_id,
        workflow_id=state.workflow_id,
        revision=revision,
        customer_uin=state.customer_uin,
        initiator_uin=state.initiator_uin,
        reseller_uin=state.reseller_uin,
        distributor_uin=state.distributor_uin,
        status=state.status,
        failed_checks=state.failed_checks,
        deadline=state.deadline,
        submitted_at=state.submitted_at,
        notice_acknowledged_by=state.notice_acknowledged_by,
        notice_acknowledged_at=state.notice_acknowledged_at,
        reason=state.reason,
        effective_at=state.effective_at,
        requested_by=state.requested_by,
        plan=state.plan,
        updated_at=at,
        notice_version=state.notice_version,
        notice_sha256=state.notice_sha256,
        decisions=decisions_of(state),
    )


DECISIONS = frozenset(
    {ActionKind.RESELLER_REVIEW, ActionKind.REVIEW, ActionKind.CONFIRM, ActionKind.REJECT}
)


def decisions_of(state: UnbindingState) -> list[DecisionRecord]:
    """The parties' accepted decisions in the timeline, as evidence."""
    fields = set(DecisionRecord.model_fields)
    return [
        DecisionRecord.model_validate(entry.model_dump(include=fields))
        for entry in state.timeline
        if entry.accepted and entry.action in DECISIONS
    ]


def parties(state: WorkflowState, *, without: str | None = None) -> list[str]:
    """Who hears about the application: the initiator, and once the
    preconditions passed, the customer, its reseller (the initiator unless the
    customer asked) and any distributor; each once."""
    public = state.public
    everyone: list[str | None] = [public.initiator_uin]
    if state.validated:
        everyone += [public.customer_uin, public.reseller_uin, public.distributor_uin]
    heard = list(dict.fromkeys(uin for uin in everyone if uin is not None))
    return [uin for uin in heard if uin != without]


async def call(
    activity: Callable[[Any, Any], Any],
    arg: Any,
    *,
    summary: str,
    policy: ActivityPolicy = SETTINGS.partner_center,
) -> Any:
    """Run one activity with the timeout and retries of ``policy``, and a summary
    operators read in the Web UI.

    A policy marked ``local`` runs as a local activity only in the runs that
    took that path (``reads_locally``); the SDK keeps a patch's answer for the
    rest of the run."""
    if policy.local and reads_locally():
        return await workflow.execute_local_activity_method(
            activity,  # type: ignore[arg-type]
            arg,
            start_to_close_timeout=policy.start_to_close,
            retry_policy=policy.retry,
            local_retry_threshold=LOCAL_RETRY_THRESHOLD,
            summary=summary,
        )
    return await workflow.execute_activity_method(
        activity,  # type: ignore[arg-type]
        arg,
        start_to_close_timeout=policy.start_to_close,
        retry_policy=policy.retry,
        summary=summary,
    )


async def save_record(state: WorkflowState) -> None:
    """Write the current state to the "Unbinding Customers" page (or, with the
    outbox, leave it there: the newest state supersedes an unwritten older one)."""
    state.revision += 1
    public = state.public
    record = record_of(public, revision=state.revision, at=workflow.now())
    if local_steps():
        state.outbox = state.outbox.model_copy(update={"record": record})
        return
    await call(
        UnbindingActivities.save_record,
        record,
        summary=f"Record status {public.status} on the Unbinding Customers page",
    )


async def notify(state: WorkflowState, event: str, recipients: list[str], message: Message) -> None:
    """A system message to each recipient, delivered once per event (with the
    outbox: queued, and written with the record of the same state change)."""
    notification = notification_of(state, event, recipients, message)
    if local_steps():
        queued = [*state.outbox.notifications, notification]
        state.outbox = state.outbox.model_copy(update={"notifications": queued})
        return
    await call(
        UnbindingActivities.notify,
        notification,
        summary=f"Notify {', '.join(recipients)}: {message.subject}",
    )


def notification_of(
    state: WorkflowState, event: str, recipients: list[str], message: Message
) -> Notification:
    public = state.public
    return Notification(
        application_id=public.application_id,
        workflow_id=public.workflow_id,
        event=event,
        recipients=tuple(recipients),
        subject=message.subject,
        body=message.body,
        at=workflow.now(),
    )


async def flush(state: WorkflowState, *, policy: ActivityPolicy = SETTINGS.partner_center) -> None:
    """Write what the outbox holds in one transaction, and show the state in
    the search attributes. Called wherever the story may rest (a wait for
    people, the end), so nothing is ever seen late or out of order."""
    outbox = take_outbox(state)
    if not outbox.empty:
        await call(UnbindingActivities.commit, outbox, summary=_summary_of(outbox), policy=policy)


def take_outbox(state: WorkflowState, *, show: bool = True) -> Outbox:
    """Empty the outbox into the caller's write (the cutover takes it into its
    own transaction); the search attributes are shown with it unless the
    caller shows them itself (``show_search_attributes``)."""
    if not local_steps():
        return Outbox()
    if show:
        show_search_attributes(state)
    outbox, state.outbox = state.outbox, Outbox()
    return outbox


def _summary_of(outbox: Outbox) -> str:
    parts = [] if outbox.record is None else [f"Record status {outbox.record.status}"]
    parts += [f"notify {', '.join(n.recipients)}: {n.subject}" for n in outbox.notifications]
    summary = "; ".join(parts)
    return summary[:1].upper() + summary[1:]
