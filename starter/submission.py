"""How an application is started: the workflow start that carries it, with
the search attributes and the Web UI's summary and details set from the
first moment (update-with-start sends it together with the submission)."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any

from temporalio.client import WithStartWorkflowOperation
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy

from starter.errors import describe_duration
from workflows.contract import workflow_id_for
from workflows.model import ApplicationInput, UnbindStatus
from workflows.search_attributes import CUSTOMER_UIN, RESELLER_UIN, UNBIND_STATUS
from workflows.texts import markdown_text
from workflows.unbinding import UnbindingWorkflow


def start_operation(
    application: ApplicationInput, *, task_queue: str
) -> WithStartWorkflowOperation[Any, Any]:
    """The start of the application's workflow, one open per customer."""
    return WithStartWorkflowOperation(
        UnbindingWorkflow.run,
        application,
        id=workflow_id_for(application.customer_uin),
        # One open application per customer; a closed one may be followed
        # by a new one (the default reuse policy allows it).
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(UNBIND_STATUS, UnbindStatus.VALIDATING.value),
                SearchAttributePair(CUSTOMER_UIN, application.customer_uin),
                SearchAttributePair(RESELLER_UIN, application.initiator_uin),
            ]
        ),
        static_summary=(
            f"Unbind customer {application.customer_uin} from reseller {application.initiator_uin}"
        ),
        static_details=_static_details(application),
    )


def submission_update_id(application: ApplicationInput) -> str:
    """The submission's update id: asking again under it gets the first answer.
    It names who submits, not only the application id: the server answers an
    update-with-start to a running workflow under a known update id with that
    update's outcome, so another initiator naming the same id (a batch id can
    be chosen or computed) would be told the first one's answer."""
    return (
        f"submission-{application.application_id}"
        f"-{application.initiator_uin}-{application.submitter_uin}"
    )


async def consume_start_failure(start: WithStartWorkflowOperation[Any, Any]) -> None:
    """A failed update-with-start also fails the operation's handle future;
    retrieve that failure so asyncio does not report it as never retrieved."""
    # The future is already settled here; a CancelledError in it is the SDK's
    # record of the timed-out call, not a cancellation of this task.
    with suppress(Exception, asyncio.CancelledError):
        await start.workflow_handle()


def _static_details(application: ApplicationInput) -> str:
    """Markdown for the Web UI: the parties, the acknowledged notice, the deadlines."""
    deadlines = application.deadlines
    reminders = ", ".join(describe_duration(r) for r in deadlines.reminders_before) or "none"
    facts = [
        f"**Customer:** {application.customer_uin}",
        f"**Reseller (initiator):** {application.initiator_uin}",
        f"**Submitted by:** {application.submitter_uin}",
        f"**Notice acknowledged by** {application.submitter_uin} "
        f"**at** {application.acknowledged_at.isoformat()}",
        f"**Application id:** {application.application_id}",
    ]
    if application.reason:
        facts.append(f"**Reason:** {markdown_text(application.reason)}")
    waits = [
        f"- distributor review: {describe_duration(deadlines.distributor_review)}",
        f"- customer confirmation: {describe_duration(deadlines.customer_confirmation)}",
        f"- card binding: {describe_duration(deadlines.card_binding)}",
        f"- remediation: {describe_duration(deadlines.remediation)}",
        f"- reminders before each deadline: {reminders}",
    ]
    return "  \n".join(facts) + "\n\n**Deadlines**\n\n" + "\n".join(waits) + "\n"
