"""How ``unbind`` prints: ``--json`` for machines, short text for people, and
errors as ``{"error": ..., "field": ...}`` or ``label: message`` on stderr.

Text that someone typed or another system returned (reasons, hints, names,
stored messages) is printed only through :func:`one_line`, so it can neither
start a line of its own nor hide characters."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import click

from starter.errors import ActionUnanswered, UnbindError
from workflows.model import ActionResult, SubmissionResult, UnbindingState
from workflows.texts import one_line, plan_lines

LABELS = {1: "refused", 2: "error", 3: "unreachable"}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_json_default))


def emit(as_json: bool, data: Any, text: str | Callable[[], str]) -> None:
    """``data`` as JSON, or the text (built only when it is printed)."""
    if as_json:
        print_json(data)
    else:
        click.echo(text() if callable(text) else text)


def print_error(as_json: bool, label: str, message: str, field: str | None) -> None:
    if as_json:
        print_json({"error": message, "field": field})
    else:
        click.echo(f"{label}: {message}", err=True)


def print_unbind_error(as_json: bool, error: UnbindError) -> None:
    """A named error of the client API; an unanswered action also names the
    ``action_id`` to send again."""
    if not isinstance(error, ActionUnanswered):
        print_error(as_json, LABELS[error.exit_code], error.message, error.field)
    elif as_json:
        print_json({"error": error.message, "field": error.field, "action_id": error.action_id})
    else:
        click.echo(
            f"{LABELS[error.exit_code]}: {error.message}\n"
            f"retry: the same command with --action-id {error.action_id}",
            err=True,
        )


def when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def submission_text(result: SubmissionResult) -> str:
    if result.accepted:
        lines = [f"accepted: {result.workflow_id} is now {result.status}"]
        if result.plan is not None:
            lines.append("what the cutover changes:")
            lines += [f"  - {one_line(line)}" for line in plan_lines(result.plan)]
        return "\n".join(lines)
    count = len(result.failed_checks)
    lines = [f"refused: {count} check{'s' if count != 1 else ''} failed ({result.status})"]
    lines += [f"  - {check.check}: {one_line(check.hint)}" for check in result.failed_checks]
    return "\n".join(lines)


def action_text(workflow_id: str, result: ActionResult) -> str:
    if result.accepted:
        return f"accepted: {workflow_id} is now {result.status}"
    return f"refused: {one_line(result.reason or '')} ({workflow_id} is {result.status})"


_SELF_ENDED_RUNS = ("RUNNING", "COMPLETED")


def state_text(state: UnbindingState, execution_status: str) -> str:
    partner = f" ({state.partner_kind})" if state.partner_kind else ""
    stopped = (
        f" (run {execution_status}: the state is as of then)"
        if execution_status not in _SELF_ENDED_RUNS
        else ""
    )
    rows = [
        ("status", f"{state.status}{stopped}"),
        ("customer", state.customer_uin),
        ("initiator", f"{state.initiator_uin}{partner}"),
        ("requested by", str(state.requested_by)),
        ("submitted by", f"{state.submitter_uin} at {when(state.submitted_at)}"),
        ("reseller", state.reseller_uin or "-"),
        ("distributor", state.distributor_uin or "-"),
        ("deadline", when(state.deadline)),
    ]
    if state.plan is not None:
        rows.append(("effective", f"{state.plan.effective} ({when(state.plan.effective_on)})"))
    if state.effective_at:
        rows.append(("effective at", when(state.effective_at)))
    if state.outcome_reason:
        rows.append(("outcome", one_line(state.outcome_reason)))
    lines = [state.workflow_id] + [f"  {label:<13}{value}" for label, value in rows]
    if state.failed_checks:
        lines.append("failed checks:")
        lines += [f"  - {check.check}: {one_line(check.hint)}" for check in state.failed_checks]
    if state.plan is not None and state.effective_at is None:
        lines.append("what the cutover changes:")
        lines += [f"  - {one_line(line)}" for line in plan_lines(state.plan)]
    lines.append("timeline:")
    if not state.timeline:
        lines.append("  (no actions yet)")
    actor_width = max((len(entry.actor) for entry in state.timeline), default=0)
    for entry in state.timeline:
        verdict = "accepted" if entry.accepted else "refused"
        reason = f": {one_line(entry.reason)}" if entry.reason else ""
        lines.append(
            f"  {when(entry.at)}  {entry.actor:<{actor_width}}  "
            f"{entry.action:<11} {verdict}{reason}"
        )
    return "\n".join(lines)


def account_text(account: dict[str, Any]) -> str:
    """``ledger show``: an account's fields, then its partner and agreement."""
    lines = []
    for key, value in account.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {k:<16}{_field(v)}" for k, v in value.items()]
        else:
            lines.append(f"{key:<18}{_field(value)}")
    return "\n".join(lines)


def _field(value: Any) -> str:
    return "-" if value is None else one_line(str(value))
