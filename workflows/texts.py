"""Every text people read: system messages, the Web UI's current details and
timer summaries. Pure functions of data; the workflow and the repair
(``starter/repair.py``) pass the data and send what these return.

Text a person typed (a reason) or a system outside this one returned is shown
only through :func:`one_line` (plain text) or :func:`markdown_text`: histories
may hold such text from before the edge refused line breaks and invisible
characters, and a raw Temporal client bypasses the edge."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from workflows.fields import invisible_character
from workflows.model import (
    ConfirmAction,
    CutoverPlan,
    FailedCheck,
    Outbox,
    RejectAction,
    ResellerReviewAction,
    ReviewAction,
    UnbindingState,
    UnbindStatus,
)

S = UnbindStatus


class Message(NamedTuple):
    subject: str
    body: str


WAITING_FOR: dict[UnbindStatus, str] = {
    S.PENDING_RESELLER_REVIEW: "the reseller to review the customer's request",
    S.PENDING_DISTRIBUTOR_REVIEW: "the distributor to review the application",
    S.PENDING_CUSTOMER_CONFIRMATION: "the customer to confirm or reject",
    S.PENDING_CARD_BINDING: "the customer to bind a card",
    S.AWAITING_EFFECTIVE_DATE: "the effective date of the cutover",
    S.AWAITING_REMEDIATION: "the initiator to fix the failed checks",
}
"""What each human wait waits for, in words."""


# Markdown that acts anywhere in a line: emphasis, code, links and images,
# autolinks and HTML, entities, tables, strikethrough, e-mail autolinks.
_MARKDOWN_INLINE = re.compile(r"[\\`*_\[\]()<>&|~!@]")
# What makes a bare address a link in GitHub-flavoured markdown.
_BARE_LINK = re.compile(r"(?i)(?<=www)\.|:(?=//)")
# Markdown that acts at the start of a line: headings, lists, setext underlines.
_BLOCK_START = re.compile(r"^(?:([#+=-])|([0-9]{1,9})([.]))")


def _hidden(char: str) -> bool:
    """Takes no visible place: format (zero-width, bidi, BOM), control and
    surrogate characters, and fillers that look blank."""
    return unicodedata.category(char) in ("Cc", "Cs") or invisible_character(char) is not None


def one_line(text: str) -> str:
    """Untrusted text as one line of visible plain text: every run of white
    space (line breaks included) becomes one space, invisible characters go.
    Nothing of it can start a line of its own or hide what it says."""
    visible = "".join(" " if char.isspace() else "" if _hidden(char) else char for char in text)
    return " ".join(visible.split())


def markdown_text(text: str) -> str:
    """Untrusted text as one line of markdown that renders as exactly that
    text: :func:`one_line`, with every markdown construct escaped."""
    line = _MARKDOWN_INLINE.sub(r"\\\g<0>", one_line(text))
    line = _BARE_LINK.sub(r"\\\g<0>", line)
    return _BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", line)


def _with_reason(text: str, reason: str | None) -> str:
    """``text``, and the reason someone gave (untrusted) on the same line."""
    return f"{text} Reason: {markdown_text(reason)}" if reason else text


def submitted(customer_uin: str, plan: CutoverPlan | None = None) -> Message:
    return Message(
        "Unbinding application submitted",
        _with_plan(
            f"Your application to unbind customer {customer_uin} passed the precondition checks.",
            plan,
        ),
    )


def review_requested(
    initiator_uin: str, customer_uin: str, plan: CutoverPlan | None = None
) -> Message:
    return Message(
        "Review an unbinding application",
        _with_plan(
            f"Reseller {initiator_uin} applied to unbind customer {customer_uin}. "
            "Please approve or reject.",
            plan,
        ),
    )


def review_handed_over(customer_uin: str, reseller_uin: str, plan: CutoverPlan | None) -> Message:
    return Message(
        "Review an unbinding application",
        _with_plan(
            f"Customer {customer_uin} applied to leave reseller {reseller_uin}, who did not "
            "review it in time. Please approve or reject in the reseller's place.",
            plan,
        ),
    )


def plan_lines(plan: CutoverPlan | None) -> list[str]:
    """What the cutover changes and when, in words (one line each)."""
    if plan is None:
        return []
    when = (
        "The cutover takes effect at the end of the billing month: "
        f"{plan.effective_on.isoformat()}."
        if plan.effective_on is not None
        else "The cutover takes effect at once, when the final check passes."
    )
    ending = (
        "Discounts that end at the cutover: "
        + ", ".join(markdown_text(name) for name in plan.discounts_ending)
        + "."
        if plan.discounts_ending
        else "No discount of the reseller's ends at the cutover."
    )
    boundary = (
        "Usage before the billing boundary (the effective date) is billed to the reseller, "
        "usage after it to the customer."
    )
    return [when, ending, boundary, plan.delayed_bills]


def _with_plan(text: str, plan: CutoverPlan | None) -> str:
    return "\n".join([text, *plan_lines(plan)])


def reseller_review_requested(customer_uin: str, plan: CutoverPlan | None = None) -> Message:
    return Message(
        "Review your customer's request to leave",
        _with_plan(
            f"Customer {customer_uin} applied to end its reselling relationship with you. "
            "Approve or reject it; left unreviewed, the deadline decides.",
            plan,
        ),
    )


def reseller_review_decided(review: ReviewAction | ResellerReviewAction) -> Message:
    verdict = review_verdict(review)
    return Message(
        f"Reseller {verdict} the customer's request",
        _with_reason(f"Reseller {review.actor} {verdict} the request.", review.reason),
    )


def decided_by_the_deadline(status: UnbindStatus, verdict: str) -> Message:
    """A review the deadline decided: approved, or handed to the distributor."""
    return Message(
        f"The deadline {verdict}",
        f"Nobody acted while waiting for {WAITING_FOR[status]}: the deadline {verdict}.",
    )


def cutover_scheduled(plan: CutoverPlan) -> Message:
    return Message(
        "Unbinding scheduled",
        _with_plan(
            "Everyone agreed. The initiator may still withdraw until the cutover begins.", plan
        ),
    )


def review_verdict(review: ReviewAction | ResellerReviewAction) -> str:
    return "approved" if review.approve else "rejected"


def review_decided(review: ReviewAction) -> Message:
    verdict = review_verdict(review)
    return Message(
        f"Distributor {verdict} the unbinding application",
        _with_reason(f"Distributor {review.actor} {verdict} the application.", review.reason),
    )


def confirmation_requested(initiator_uin: str, plan: CutoverPlan | None = None) -> Message:
    return Message(
        "Confirm or reject an unbinding application",
        _with_plan(
            f"Your reseller {initiator_uin} applied to end its reselling relationship with you. "
            "Confirm or reject it in Expense Center > Account Information.",
            plan,
        ),
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
    closed_by: str | None = None,
) -> Message:
    """The message every party receives when an application ends; ``closed_by``
    is the operator who closed it after its process was stopped by hand."""
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
    if closed_by:
        body += f" Its process was stopped by hand and closed by {closed_by}."
    return Message(subject, _with_reason(body, reason))


def completed_on(ending: Outbox, effective_at: datetime) -> Outbox:
    """The ending the cutover writes (``CutoverRequest.ending``) with the
    billing boundary it commits: the record's, and the body of every message,
    the same text the workflow gives the run's own ending (``outcome``)."""
    assert ending.record is not None and ending.record.status is S.COMPLETED
    record = ending.record.model_copy(update={"effective_at": effective_at})
    message = outcome(
        S.COMPLETED,
        customer_uin=record.customer_uin,
        reseller_uin=record.reseller_uin,
        effective_at=effective_at,
        reason=None,  # a completion has no reason to give
    )
    notifications = [
        n.model_copy(update={"subject": message.subject, "body": message.body})
        for n in ending.notifications
    ]
    return Outbox(record=record, notifications=notifications)


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
        lines += [f"- `{c.check}`: {markdown_text(c.hint)}" for c in state.failed_checks]
    if state.plan is not None and state.effective_at is None:
        lines.append("**Cutover plan:**")
        lines += [f"- {line}" for line in plan_lines(state.plan)]
    if state.effective_at:
        lines.append(f"**Billing boundary:** {state.effective_at.isoformat()}")
    if state.outcome_reason:
        lines.append(f"**Reason:** {markdown_text(state.outcome_reason)}")
    return "\n".join(lines)
