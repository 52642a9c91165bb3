"""What a run hands to its continuation when its history grows long.

The whole :class:`~workflows.state.WorkflowState` goes across, as the
continued run's second argument (after the application); only what is
remembered of earlier actions is bounded (see settings), so a flood of actions
cannot grow the hand-over either. The continued run resumes in the same wait with the same absolute
deadline, without re-entering it or notifying anyone again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.contract import INVALID_APPLICATION
from workflows.intake import one_message
from workflows.model import ApplicationInput, CarriedOver, UnbindingState, UnbindStatus
from workflows.settings import SETTINGS
from workflows.state import WorkflowState

S = UnbindStatus

RESUMABLE_WAITS = (
    S.PENDING_RESELLER_REVIEW,
    S.PENDING_DISTRIBUTOR_REVIEW,
    S.PENDING_CUSTOMER_CONFIRMATION,
    S.PENDING_CARD_BINDING,
    S.AWAITING_EFFECTIVE_DATE,
    S.AWAITING_REMEDIATION,
)
"""The human waits in story order: a continued run resumes in one of them and
skips the steps before it."""


def hand_over(state: WorkflowState, *, next_auto_recheck_at: datetime | None) -> WorkflowState:
    """The state, with what is remembered of earlier actions bounded."""
    public = state.public.model_copy(deep=True)
    # Accepted entries are the audit trail: refusals make room first.
    limit = SETTINGS.carried_timeline_entries
    accepted_at = [i for i, e in enumerate(public.timeline) if e.accepted][-limit:]
    room = limit - len(accepted_at)
    refused_at = [i for i, e in enumerate(public.timeline) if not e.accepted]
    kept_at = set(accepted_at) | set(refused_at[-room:] if room > 0 else [])
    timeline = [e for i, e in enumerate(public.timeline) if i in kept_at]
    transitions = public.transitions[-SETTINGS.carried_transitions :]
    public.forgotten_entries += len(public.timeline) - len(timeline)
    public.forgotten_entries += len(public.transitions) - len(transitions)
    public.timeline, public.transitions = timeline, transitions
    # Accepted and refused answers are kept apart, so a flood of refusals can
    # never push out an accepted answer.
    accepted = [i for i, a in state.answers.items() if a.accepted]
    refused = [i for i, a in state.answers.items() if not a.accepted]
    kept = set(accepted[-SETTINGS.remembered_accepted_actions :])
    kept |= set(refused[-SETTINGS.remembered_refused_actions :])
    return state.model_copy(
        update={
            "public": public,
            "answers": {i: a for i, a in state.answers.items() if i in kept},
            "reminded": sorted(state.reminded),
            "next_auto_recheck_at": next_auto_recheck_at,
        }
    )


def begin(payload: tuple[Any, ...]) -> tuple[ApplicationInput, WorkflowState]:
    """The application a run serves, and the state it starts from: a fresh one,
    or its predecessor's when it was continued as new (its second argument;
    runs continued by older workers carried it inside the application)."""
    continued = workflow.info().continued_run_id is not None
    handed = payload[1:] if continued and len(payload) == 2 else ()
    try:
        application = one_message(
            ApplicationInput,
            payload[:1] if handed else payload,
            carrier="a start",
            name="application",
            error_type=INVALID_APPLICATION,
        )
    except ApplicationError as refusal:
        if not continued:
            raise
        raise RuntimeError(f"a continued run's {refusal.message}") from None
    carried = handed[0] if handed else application.carried_over
    if continued and carried is not None:
        return application, take_over(carried)
    fresh = UnbindingState(
        application_id=application.application_id,
        workflow_id=workflow.info().workflow_id,
        customer_uin=application.customer_uin,
        initiator_uin=application.initiator_uin,
        submitter_uin=application.submitter_uin,
        submitted_at=workflow.now(),
        notice_acknowledged_by=application.submitter_uin,
        notice_acknowledged_at=application.acknowledged_at,
        notice_version=application.notice_version,
        notice_sha256=application.notice_sha256,
        reason=application.reason,
        deadlines=application.deadlines,
        requested_by=application.requested_by,
    )
    return application, WorkflowState(public=fresh)


def take_over(carried: WorkflowState | CarriedOver | dict[str, Any]) -> WorkflowState:
    """The state a continued run starts from: one run more, waiting to resume
    in the wait the previous run left. A hand-over that does not decode is a
    bug in a newer worker, never the caller's mistake: it fails the workflow
    task (retried until a fixed worker takes it), not the application."""
    if isinstance(carried, BaseModel):
        # The older shape is read by WorkflowState too; a model is read afresh.
        carried = carried.model_dump(mode="json")
    try:
        state = WorkflowState.model_validate(carried)
    except ValidationError as error:
        raise RuntimeError(f"a continued run's hand-over does not decode: {error}") from None
    state.public.runs += 1
    state.resume_in = state.public.status
    state.settled = False
    return state


def resumes_past(resume_in: UnbindStatus | None, status: UnbindStatus) -> bool:
    """True when a continued run resumes in a wait after ``status``'s step."""
    return resume_in is not None and RESUMABLE_WAITS.index(resume_in) > RESUMABLE_WAITS.index(
        status
    )
