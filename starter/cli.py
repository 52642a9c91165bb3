"""``unbind``: the command line over :class:`~starter.client.UnbindingClient`
and the partner center's ledger.

Exit codes: 0 done, 1 refused by a business rule, 2 bad input, 3 Temporal or
the database cannot be reached. Input is validated while the command line is
parsed, so bad input never starts, signals or writes anything. Every command
takes ``--json``; errors are then ``{"error": ..., "field": ...}`` on stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

import click
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from activities.partner_center import LedgerConflict, UnknownAccount
from activities.sql import SqlPartnerCenter, database_url_from_env
from activities.sql.ledger import cents_from_amount
from starter.client import (
    UnbindingClient,
    build_action,
    build_application,
    build_deadlines,
)
from starter.errors import (
    BadInput,
    Refused,
    UnbindError,
    Unreachable,
    bad_input_from,
    describe_duration,
)
from starter.repair import close_terminated
from workflows.model import (
    Action,
    ActionResult,
    Actor,
    CardBoundAction,
    ConfirmAction,
    GroupRole,
    OverduePrivilege,
    PartnerKind,
    Reason,
    RecheckAction,
    RejectAction,
    ReviewAction,
    SubmissionResult,
    Uin,
    UnbindingState,
    UnbindStatus,
    WithdrawAction,
    text_problem,
)
from workflows.settings import SETTINGS
from workflows.unbinding import workflow_id_for

_T = TypeVar("_T")

# The partner center's column sizes (activities/sql/schema.py) and BIGINT range.
MAX_NAME_LENGTH = 200
MAX_SAVINGS_UNIT_LENGTH = 64
_MAX_CENTS = 2**63 - 1


# ---- parameter types: the message models' own rules, applied while parsing ----


class _Validated(click.ParamType):
    """A click type that validates with a pydantic type from ``workflows.model``,
    so the CLI and the client API enforce the same rule."""

    def __init__(self, name: str, annotation: Any) -> None:
        self.name = name
        self._adapter: TypeAdapter[str] = TypeAdapter(annotation)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return self._adapter.validate_python(value)
        except ValidationError as error:
            self.fail(bad_input_from(error).rule, param, ctx)


class _Text(click.ParamType):
    """Free text with a length limit, held to the same rules as a reason."""

    def __init__(self, name: str, max_length: int) -> None:
        self.name = name
        self.max_length = max_length

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if len(text) > self.max_length:
            self.fail(f"at most {self.max_length} characters", param, ctx)
        problem = text_problem(text)
        if problem:
            self.fail(problem, param, ctx)
        return text


class _Days(click.ParamType):
    """A duration in days (fractions allowed); bounds are checked by ``Deadlines``."""

    name = "DAYS"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        if not str(value).isascii():  # float() reads Arabic-Indic digits too
            self.fail(f"{value!r} is not a number of days", param, ctx)
        try:
            return timedelta(days=float(value))
        except (ValueError, OverflowError):
            self.fail(f"{value!r} is not a number of days", param, ctx)


class _Amount(click.ParamType):
    """A money amount such as ``-12.50``, converted to cents exactly."""

    name = "AMOUNT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        if not str(value).isascii():  # Decimal() reads Arabic-Indic digits too
            self.fail(f"{value!r} is not an amount with at most 2 decimals", param, ctx)
        try:
            cents = cents_from_amount(str(value).strip())
        except (ValueError, ArithmeticError):  # ArithmeticError: 1e999999999 overflows
            self.fail(f"{value!r} is not an amount with at most 2 decimals", param, ctx)
        if abs(cents) > _MAX_CENTS:
            self.fail(f"{value!r} is out of range", param, ctx)
        return cents


def _choice(enum: type[Enum]) -> click.Choice[str]:
    return click.Choice([member.value for member in enum])


UIN = _Validated("UIN", Uin)
ACTOR = _Validated("UIN|operator:NAME", Actor)
REASON = _Validated("TEXT", Reason)
NAME = _Text("TEXT", MAX_NAME_LENGTH)
SAVINGS_UNIT = _Text("ID|none", MAX_SAVINGS_UNIT_LENGTH)
DAYS = _Days()
AMOUNT = _Amount()


# ---- output -------------------------------------------------------------------


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


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_json_default))


def _emit(as_json: bool, data: Any, text: str | Callable[[], str]) -> None:
    if as_json:
        _print_json(data)
    else:
        click.echo(text() if callable(text) else text)


def _print_error(as_json: bool, label: str, message: str, field: str | None) -> None:
    if as_json:
        _print_json({"error": message, "field": field})
    else:
        click.echo(f"{label}: {message}", err=True)


_LABELS = {1: "refused", 2: "error", 3: "unreachable"}


def _option_name(param: click.Parameter | None) -> str | None:
    if param is None:
        return None
    long_options = [opt for opt in param.opts if opt.startswith("--")]
    if isinstance(param, click.Option) and long_options:
        return max(long_options, key=len)
    return param.human_readable_name


class _UnbindGroup(click.Group):
    """Renders every error the same way: click's usage errors, and the client's
    named errors with their exit codes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        before_separator = args[: args.index("--")] if "--" in args else args
        ctx.meta["unbind.json"] = "--json" in before_separator
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        as_json = bool(ctx.meta.get("unbind.json"))
        try:
            return super().invoke(ctx)
        except UnbindError as error:
            _print_error(as_json, _LABELS[error.exit_code], error.message, error.field)
            raise click.exceptions.Exit(error.exit_code) from None
        except click.ClickException as error:
            if not as_json:
                raise
            field = _option_name(error.param) if isinstance(error, click.BadParameter) else None
            if isinstance(error, click.NoSuchOption):
                field = error.option_name
            _print_error(True, "error", error.format_message(), field)
            raise click.exceptions.Exit(error.exit_code) from None


def _json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(
        command
    )


def _customer_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--customer", "customer", required=True, type=UIN, help="The sub-customer's UIN."
    )(command)


def _actor_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--as",
        "actor",
        required=True,
        type=ACTOR,
        help="Who acts: a UIN, or operator:<name> for an operator.",
    )(command)


def _reason_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--reason", type=REASON, help=f"Why (at most {SETTINGS.max_reason_length} characters)."
    )(command)


def _temporal(call: Callable[[UnbindingClient], Awaitable[_T]]) -> _T:
    """Connect to Temporal and run one call; only after input was validated."""

    async def connect_and_call() -> _T:
        client = await UnbindingClient.connect()
        return await call(client)

    return asyncio.run(connect_and_call())


@click.group(cls=_UnbindGroup)
def cli() -> None:
    """Unbind a reseller's sub-customer: apply, act, and watch applications.

    Exit codes: 0 done, 1 refused, 2 bad input, 3 Temporal or the database
    unreachable. Temporal is configured through the standard TEMPORAL_* variables
    and profiles; UNBIND_TASK_QUEUE and UNBIND_DATABASE_URL select the task queue
    and the partner-center database.
    """


def _default(deadline: timedelta) -> str:
    return (
        f"default {describe_duration(deadline)}; "
        f"{describe_duration(SETTINGS.min_deadline)} to {describe_duration(SETTINGS.max_deadline)}"
    )


# ---- applying ---------------------------------------------------------------------


@cli.command()
@_customer_option
@click.option("--initiator", required=True, type=UIN, help="The reseller's UIN.")
@click.option(
    "--operator",
    type=UIN,
    help="The account submitting, when not the initiator's root account itself "
    "(a sub-user is refused by the root_account check).",
)
@click.option(
    "--acknowledge-notice",
    is_flag=True,
    required=True,
    help="Confirm that the unbinding notice was read and acknowledged.",
)
@_reason_option
@click.option(
    "--review-days",
    type=DAYS,
    help=f"Distributor review deadline ({_default(SETTINGS.distributor_review_deadline)}).",
)
@click.option(
    "--confirmation-days",
    type=DAYS,
    help=f"Customer confirmation deadline ({_default(SETTINGS.customer_confirmation_deadline)}).",
)
@click.option(
    "--card-days",
    type=DAYS,
    help=f"Card binding deadline ({_default(SETTINGS.card_binding_deadline)}).",
)
@click.option(
    "--remediation-days",
    type=DAYS,
    help=f"Remediation deadline ({_default(SETTINGS.remediation_deadline)}).",
)
@_json_option
def apply(
    customer: str,
    initiator: str,
    operator: str | None,
    acknowledge_notice: bool,
    reason: str | None,
    review_days: timedelta | None,
    confirmation_days: timedelta | None,
    card_days: timedelta | None,
    remediation_days: timedelta | None,
    as_json: bool,
) -> None:
    """Submit an application; the preconditions are checked at once."""
    deadlines = build_deadlines(
        distributor_review=review_days,
        customer_confirmation=confirmation_days,
        card_binding=card_days,
        remediation=remediation_days,
    )
    application = build_application(
        customer_uin=customer,
        initiator_uin=initiator,
        submitter_uin=operator,
        notice_acknowledged=acknowledge_notice,
        reason=reason,
        deadlines=deadlines,
    )
    result = _temporal(lambda client: client.submit(application))
    _emit(as_json, result.model_dump(mode="json"), lambda: _submission_text(result))
    if not result.accepted:
        raise click.exceptions.Exit(1)


def _submission_text(result: SubmissionResult) -> str:
    if result.accepted:
        return f"accepted: {result.workflow_id} is now {result.status}"
    count = len(result.failed_checks)
    lines = [f"refused: {count} check{'s' if count != 1 else ''} failed ({result.status})"]
    lines += [f"  - {check.check}: {check.hint}" for check in result.failed_checks]
    return "\n".join(lines)


# ---- people's actions ----------------------------------------------------------------


def _act(customer: str, action: Action, as_json: bool) -> None:
    result = _temporal(lambda client: client.act(customer, action))
    workflow_id = workflow_id_for(customer)
    data = {**result.model_dump(mode="json"), "workflow_id": workflow_id}
    data["action_id"] = action.action_id
    _emit(as_json, data, lambda: _action_text(workflow_id, result))
    if not result.accepted:
        raise click.exceptions.Exit(1)


def _action_text(workflow_id: str, result: ActionResult) -> str:
    if result.accepted:
        return f"accepted: {workflow_id} is now {result.status}"
    return f"refused: {result.reason} ({workflow_id} is {result.status})"


@cli.command()
@_customer_option
@_actor_option
@click.option("--approve/--reject", "approve", default=None, help="The decision (one is required).")
@_reason_option
@_json_option
def review(
    customer: str, actor: str, approve: bool | None, reason: str | None, as_json: bool
) -> None:
    """The distributor approves or rejects (second-level resellers' customers)."""
    if approve is None:
        raise BadInput("--approve", "pass --approve or --reject")
    _act(customer, build_action(ReviewAction, actor=actor, approve=approve, reason=reason), as_json)


@cli.command()
@_customer_option
@_actor_option
@_json_option
def confirm(customer: str, actor: str, as_json: bool) -> None:
    """The customer agrees to be unbound."""
    _act(customer, build_action(ConfirmAction, actor=actor), as_json)


@cli.command()
@_customer_option
@_actor_option
@_reason_option
@_json_option
def reject(customer: str, actor: str, reason: str | None, as_json: bool) -> None:
    """The customer refuses to be unbound."""
    _act(customer, build_action(RejectAction, actor=actor, reason=reason), as_json)


@cli.command("card-bound")
@_customer_option
@_actor_option
@_json_option
def card_bound(customer: str, actor: str, as_json: bool) -> None:
    """The customer has bound a card (verified against the partner center)."""
    _act(customer, build_action(CardBoundAction, actor=actor), as_json)


@cli.command()
@_customer_option
@_actor_option
@_reason_option
@_json_option
def withdraw(customer: str, actor: str, reason: str | None, as_json: bool) -> None:
    """The initiator withdraws the application (any time before cutover)."""
    _act(customer, build_action(WithdrawAction, actor=actor, reason=reason), as_json)


@cli.command()
@_customer_option
@_actor_option
@_json_option
def recheck(customer: str, actor: str, as_json: bool) -> None:
    """Run the final check again after a fix (initiator or operator)."""
    _act(customer, build_action(RecheckAction, actor=actor), as_json)


# ---- watching --------------------------------------------------------------------------


@cli.command()
@_customer_option
@_json_option
def status(customer: str, as_json: bool) -> None:
    """The customer's latest application, open or ended, with its timeline."""
    report = _temporal(lambda client: client.report(customer))
    data = {
        **report.state.model_dump(mode="json"),
        "execution_status": report.execution_status,
        "run_id": report.run_id,
    }
    _emit(as_json, data, lambda: _state_text(report.state, report.execution_status))


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


_SELF_ENDED_RUNS = ("RUNNING", "COMPLETED")


def _state_text(state: UnbindingState, execution_status: str) -> str:
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
        ("submitted by", f"{state.submitter_uin} at {_when(state.submitted_at)}"),
        ("distributor", state.distributor_uin or "-"),
        ("deadline", _when(state.deadline)),
    ]
    if state.effective_at:
        rows.append(("effective at", _when(state.effective_at)))
    if state.outcome_reason:
        rows.append(("outcome", state.outcome_reason))
    lines = [state.workflow_id] + [f"  {label:<13}{value}" for label, value in rows]
    if state.failed_checks:
        lines.append("failed checks:")
        lines += [f"  - {check.check}: {check.hint}" for check in state.failed_checks]
    lines.append("timeline:")
    if not state.timeline:
        lines.append("  (no actions yet)")
    actor_width = max((len(entry.actor) for entry in state.timeline), default=0)
    for entry in state.timeline:
        verdict = "accepted" if entry.accepted else "refused"
        reason = f": {entry.reason}" if entry.reason else ""
        lines.append(
            f"  {_when(entry.at)}  {entry.actor:<{actor_width}}  "
            f"{entry.action:<11} {verdict}{reason}"
        )
    return "\n".join(lines)


@cli.command("list")
@click.option("--status", "status_filter", type=_choice(UnbindStatus), help="Only this status.")
@click.option("--reseller", type=UIN, help="Only this reseller's applications.")
@click.option("--distributor", type=UIN, help="Only this distributor's applications.")
@_json_option
def list_applications(
    status_filter: str | None, reseller: str | None, distributor: str | None, as_json: bool
) -> None:
    """Applications, newest first, from the search attributes."""
    selected = UnbindStatus(status_filter) if status_filter else None
    summaries = _temporal(
        lambda client: client.list(
            status=selected, reseller_uin=reseller, distributor_uin=distributor
        )
    )
    rows = [summary.model_dump(mode="json") for summary in summaries]

    def table() -> str:
        if not summaries:
            return "no applications"
        header = ("WORKFLOW", "STATUS", "CUSTOMER", "RESELLER", "DISTRIBUTOR", "DEADLINE")
        cells = [header] + [
            (
                s.workflow_id,
                str(s.status or "?"),
                s.customer_uin or "-",
                s.reseller_uin or "-",
                s.distributor_uin or "-",
                _when(s.deadline),
            )
            for s in summaries
        ]
        return _table(cells)

    _emit(as_json, rows, table)


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@cli.command()
@click.option("--account", required=True, type=UIN, help="Whose system messages.")
@_json_option
def inbox(account: str, as_json: bool) -> None:
    """An account's system messages, oldest first."""
    with _partner_center() as pc:
        messages = pc.inbox(account)

    def text() -> str:
        if not messages:
            return f"no messages for {account}"
        lines = []
        for message in messages:
            lines.append(f"{message['at']}  {message['event']}  {message['workflow_id']}")
            lines.append(f"  {message['subject']}")
            lines += [f"    {line}" for line in str(message["body"]).splitlines()]
        return "\n".join(lines)

    _emit(as_json, messages, text)


# ---- operators' repairs ----------------------------------------------------------------


@cli.command("close-terminated")
@_customer_option
@_actor_option
@_reason_option
@_json_option
def close_terminated_command(customer: str, actor: str, reason: str | None, as_json: bool) -> None:
    """Close the record of an application whose workflow was terminated.

    Terminate skips the workflow's own ending: the unbinding record stays open
    and refuses every new application for the customer. This tells the parties
    and closes the record (CANCELLED, or COMPLETED if the cutover was made), for
    applications Temporal reports as terminated, failed or timed out. Refused
    while the application still runs. Operators only (--as operator:NAME);
    running it again changes nothing.
    """
    with _partner_center() as pc:
        repairs = _temporal(
            lambda client: close_terminated(client, pc, customer, actor=actor, reason=reason)
        )
    data = {"customer_uin": customer, "repairs": [r.model_dump(mode="json") for r in repairs]}

    def text() -> str:
        if not repairs:
            return f"no open unbinding record for customer {customer}: nothing to repair"
        return "\n".join(
            f"{r.workflow_id} (run {r.run_id}, {r.execution_status}): record "
            + (f"closed as {r.status}" if r.closed_now else f"already {r.status}")
            + f", {r.notified} message(s) sent"
            for r in repairs
        )

    _emit(as_json, data, text)


# ---- the ledger (partner center administration) -----------------------------------------


@contextmanager
def _partner_center() -> Iterator[SqlPartnerCenter]:
    """The partner center from UNBIND_DATABASE_URL, with its errors named."""
    url = database_url_from_env()
    where = _redacted(url)
    try:
        pc = SqlPartnerCenter(url)
    except (SQLAlchemyError, OSError, ImportError) as error:
        raise Unreachable(f"cannot open the database {where}: {_reason_of(error)}") from error
    try:
        yield pc
    except (UnknownAccount, LedgerConflict) as error:
        raise Refused(str(error)) from None
    except IntegrityError as error:
        raise Refused(f"the ledger refused the change: {_reason_of(error)}") from None
    except (DBAPIError, SQLAlchemyError, OSError) as error:
        raise Unreachable(f"database {where}: {_reason_of(error)}") from error
    except ValueError as error:
        raise BadInput(None, str(error)) from None
    finally:
        pc.dispose()


def _redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable UNBIND_DATABASE_URL)"


def _reason_of(error: BaseException) -> str:
    if isinstance(error, DBAPIError):
        return str(error.orig)
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _show_text(account: dict[str, Any]) -> str:
    lines = []
    for key, value in account.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {k:<16}{'-' if v is None else v}" for k, v in value.items()]
        else:
            lines.append(f"{key:<18}{'-' if value is None else value}")
    return "\n".join(lines)


@cli.group(cls=_UnbindGroup)
def ledger() -> None:
    """Administer the partner center's accounts (demo and tests)."""


@ledger.command("seed-demo")
@_json_option
def seed_demo(as_json: bool) -> None:
    """Create the demo partners and customers (existing accounts are kept)."""
    with _partner_center() as pc:
        demo = pc.seed_demo()

    def text() -> str:
        lines = [
            f"distributor            {demo['distributor']}",
            f"reseller               {demo['reseller']} (sub-user {demo['reseller_subuser']})",
            f"second-level reseller  {demo['second_level_reseller']}",
            "customers:",
        ]
        lines += [
            f"  {c['uin']}  of {c['partner_uin']}  {c['condition']}" for c in demo["customers"]
        ]
        lines.append(f"created {len(demo['created'])} new accounts")
        return "\n".join(lines)

    _emit(as_json, demo, text)


@ledger.command("add-partner")
@click.argument("uin", type=UIN)
@click.option("--kind", required=True, type=_choice(PartnerKind), help="The partner's kind.")
@click.option("--distributor", type=UIN, help="A second-level reseller's distributor.")
@click.option("--name", type=NAME, help="A display name.")
@_json_option
def add_partner(
    uin: str, kind: str, distributor: str | None, name: str | None, as_json: bool
) -> None:
    """Register a partner (creating its account)."""
    partner_kind = PartnerKind(kind)
    if partner_kind is PartnerKind.SECOND_LEVEL_RESELLER and distributor is None:
        raise BadInput("--distributor", "a second-level reseller needs its distributor")
    if partner_kind is not PartnerKind.SECOND_LEVEL_RESELLER and distributor is not None:
        raise BadInput("--distributor", f"only a second-level reseller has one, not a {kind}")
    with _partner_center() as pc:
        pc.add_partner(uin, kind=partner_kind, distributor_uin=distributor, name=name)
        account = pc.show(uin)
    under = f" under distributor {distributor}" if distributor else ""
    _emit(as_json, account, f"partner {uin} is a {partner_kind}{under}")


@ledger.command("add-customer")
@click.argument("uin", type=UIN)
@click.option("--partner", required=True, type=UIN, help="The reseller it is bound to.")
@click.option("--name", type=NAME, help="A display name.")
@click.option("--card", is_flag=True, help="A card is already bound.")
@_json_option
def add_customer(uin: str, partner: str, name: str | None, card: bool, as_json: bool) -> None:
    """Bind a customer to a reseller with an active agreement."""
    with _partner_center() as pc:
        pc.add_customer(uin, partner_uin=partner, name=name, card=card)
        account = pc.show(uin)
    _emit(as_json, account, f"customer {uin} is bound to partner {partner}")


@ledger.command("add-subuser")
@click.argument("uin", type=UIN)
@click.option("--owner", required=True, type=UIN, help="The root account.")
@_json_option
def add_subuser(uin: str, owner: str, as_json: bool) -> None:
    """Create a sub-user of a root account."""
    with _partner_center() as pc:
        pc.add_subuser(uin, owner_uin=owner)
        account = pc.show(uin)
    _emit(as_json, account, f"account {uin} is a sub-user of {owner}")


@ledger.command("show")
@click.argument("uin", type=UIN)
@_json_option
def show(uin: str, as_json: bool) -> None:
    """An account: its fields, its partner and its agreement."""
    with _partner_center() as pc:
        account = pc.show(uin)
    _emit(as_json, account, lambda: _show_text(account))


@ledger.command("set")
@click.argument("uin", type=UIN)
@click.option("--frozen/--unfrozen", default=None, help="Freeze or unfreeze the account.")
@click.option("--credit", type=AMOUNT, help="Available credit, e.g. 100 or -12.50.")
@click.option("--privilege", type=_choice(OverduePrivilege), help="Service during arrears.")
@click.option("--group", type=_choice(GroupRole), help="Group role.")
@click.option("--savings-unit", type=SAVINGS_UNIT, help="Savings plan shared unit, or none.")
@click.option("--card/--no-card", default=None, help="Whether a card is bound.")
@_json_option
def set_account(
    uin: str,
    frozen: bool | None,
    credit: int | None,
    privilege: str | None,
    group: str | None,
    savings_unit: str | None,
    card: bool | None,
    as_json: bool,
) -> None:
    """Change an account's fields (those the checks look at)."""
    given = (frozen, credit, privilege, group, savings_unit, card)
    if all(value is None for value in given):
        raise BadInput(None, "nothing to change: pass at least one option")
    unit: dict[str, str | None] = {}
    if savings_unit is not None:
        unit["savings_unit"] = None if savings_unit.lower() == "none" else savings_unit
    with _partner_center() as pc:
        pc.set_account(
            uin,
            frozen=frozen,
            credit_cents=credit,
            overdue_privilege=OverduePrivilege(privilege) if privilege else None,
            group_role=GroupRole(group) if group else None,
            card_bound=card,
            **unit,
        )
        account = pc.show(uin)
    _emit(as_json, account, lambda: f"updated {uin}\n{_show_text(account)}")


def main() -> None:
    """The ``unbind`` entry point."""
    try:
        cli.main(prog_name="unbind")
    except SystemExit as done:
        code = _exit_status(done.code)
    else:
        code = 0
    # temporalio/sdk-python#300: the Temporal core's threads can abort interpreter
    # shutdown (exit 134) after all work is done, even in a plain client
    # process; seen here after a successful `confirm`. Leave without finalizers.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _exit_status(code: str | int | None) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    click.echo(code, err=True)
    return 1


if __name__ == "__main__":
    main()


__all__ = ["cli", "main"]
