"""Every text people read: system messages, the Web UI's current details and
timer summaries. Pure functions of data; the workflow and the repair
(``starter/repair.py``) pass the data and send what these return."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from workflows.model import (
    ConfirmAction,
    FailedCheck,
    RejectAction,
    ReviewAction,
    UnbindingState,
    UnbindStatus,
)

S = UnbindStatus


class Message(NamedTuple):
    subject: str
    body: str


WAITING_FOR: dict[UnbindStatus, str] = {
    S.PENDING_DISTRIBUTOR_REVIEW: "the distributor to review the application",
    S.PENDING_CUSTOMER_CONFIRMATION: "the customer to confirm or reject",
    S.PENDING_CARD_BINDING: "the customer to bind a card",
    S.AWAITING_REMEDIATION: "the initiator to fix the failed checks",
}
"""What each human wait waits for, in words."""


def _with_reason(text: str, reason: str | None) -> str:
    return f"{text} Reason: {reason}" if reason else text


def submitted(customer_uin: str) -> Message:
    return Message(
        "Unbinding application submitted",
        f"Your application to unbind customer {customer_uin} passed the precondition checks.",
    )


def review_requested(initiator_uin: str, customer_uin: str) -> Message:
    return Message(
        "Review an unbinding application",
        f"Reseller {initiator_uin} applied to unbind customer {customer_uin}. "
        "Please approve or reject.",
    )


def review_verdict(review: ReviewAction) -> str:
    return "approved" if review.approve else "rejected"


def review_decided(review: ReviewAction) -> Message:
    verdict = review_verdict(review)
    return Message(
        f"Distributor {verdict} the unbinding application",
        _with_reason(f"Distributor {review.actor} {verdict} the application.", review.reason),
    )


def confirmation_requested(initiator_uin: str) -> Message:
    return Message(
        "Confirm or reject an unbinding application",
        f"Your reseller {initiator_uin} applied to end its reselling relationship with you. "
        "Confirm or reject it in Expense Center > Account Information.",
    )


def customer_verdict(decision: ConfirmAction | RejectAction) -> str:
    return "confirmed" if isinstance(decision, ConfirmAction) else "rejected"


def customer_decided(customer_uin: str, decision: ConfirmAction | RejectAction) -> Message:
    verdict = customer_verdict(decision)
    reason = decision.reason if isinstance(decision, RejectAction) else None
    return Message(
        f"Customer {verdict} the unbinding application",
        _with_reason(f"Customer {customer_uin} {verdict}.", reason),
    )


def card_binding_requested() -> Message:
    return Message(
        "Bind a card to complete the unbinding",
        "Bind a credit card to your account so that you can be billed directly.",
    )


def final_check_failed(failed_checks: Iterable[FailedCheck]) -> Message:
    return Message(
        "Unbinding is waiting for a fix",
        "The final check failed:\n"
        + "\n".join(f"- {c.check}: {c.hint}" for c in failed_checks)
        + "\nFix the account, then ask for a recheck.",
    )


def reminder(customer_uin: str, status: UnbindStatus, deadline: datetime) -> Message:
    return Message(
        "Reminder: an unbinding application is waiting for you",
        f"The application for customer {customer_uin} is waiting for {WAITING_FOR[status]}. "
        f"It expires at {deadline.isoformat()}.",
    )


def alarm_summary(alarm: str, status: UnbindStatus) -> str:
    """The summary of a wait's timer in the Web UI: ``alarm`` is what it rings for."""
    return f"{alarm} while waiting for {WAITING_FOR[status]}"


def outcome(
    status: UnbindStatus,
    *,
    customer_uin: str,
    reseller_uin: str | None,
    effective_at: datetime | None,
    reason: str | None,
) -> Message:
    """The message every party receives when an application ends."""
    subject = f"Unbinding application {status.lower().replace('_', ' ')}"
    if status is S.COMPLETED:
        assert effective_at is not None
        body = (
            f"Customer {customer_uin} is now a direct customer of the provider and the "
            "reseller customer agreement is invalidated. Usage before "
            f"{effective_at.isoformat()} is billed to reseller {reseller_uin} (delayed bills "
            "included); usage after it is billed to the customer."
        )
    else:
        body = f"The application to unbind customer {customer_uin} ended as {status}."
    return Message(subject, _with_reason(body, reason))


def describe(state: UnbindingState) -> str:
    """The current details operators read in the Web UI (markdown)."""
    lines = [f"**Status:** {state.status}"]
    if state.status in WAITING_FOR:
        lines.append(f"**Waiting for:** {WAITING_FOR[state.status]}")
    if state.deadline:
        lines.append(f"**Next deadline:** {state.deadline.isoformat()}")
    lines.append(
        f"**Customer:** {state.customer_uin} · **Reseller:** "
        f"{state.reseller_uin or state.initiator_uin}"
        + (f" · **Distributor:** {state.distributor_uin}" if state.distributor_uin else "")
    )
    if state.failed_checks:
        lines.append("**Failed checks:**")
        lines += [f"- `{c.check}`: {c.hint}" for c in state.failed_checks]
    if state.effective_at:
        lines.append(f"**Billing boundary:** {state.effective_at.isoformat()}")
    if state.outcome_reason:
        lines.append(f"**Reason:** {state.outcome_reason}")
    return "\n".join(lines)
