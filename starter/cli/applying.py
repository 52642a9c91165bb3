"""``unbind apply``: the reseller submits an application; ``unbind request``:
the customer applies to leave its reseller. The preconditions are checked at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import click

from starter.cli.app import cli, customer_option, json_option, reason_option, temporal
from starter.cli.output import emit, submission_text
from starter.cli.types import DAYS, UIN, choice
from starter.errors import BadInput, describe_duration
from starter.inputs import build_application, build_deadlines
from workflows.model import DEADLINE_CHOICES, Effective, Requester
from workflows.settings import SETTINGS

_F = TypeVar("_F", bound=Callable[..., Any])


def _default(deadline: timedelta) -> str:
    return (
        f"default {describe_duration(deadline)}; "
        f"{describe_duration(SETTINGS.min_deadline)} to {describe_duration(SETTINGS.max_deadline)}"
    )


_DEADLINE_OPTIONS = (
    ("--reseller-review-days", "Reseller review", SETTINGS.reseller_review_deadline),
    ("--review-days", "Distributor review", SETTINGS.distributor_review_deadline),
    ("--confirmation-days", "Customer confirmation", SETTINGS.customer_confirmation_deadline),
    ("--card-days", "Card binding", SETTINGS.card_binding_deadline),
    ("--remediation-days", "Remediation", SETTINGS.remediation_deadline),
)


_ON_DEADLINE_HELP = "What a wait's deadline does, as WAIT=CHOICE (repeatable): " + "; ".join(
    f"{wait}: {'|'.join(sorted(c.value for c in allowed))}"
    for wait, allowed in DEADLINE_CHOICES.items()
)


def _deadline_options(command: _F) -> _F:
    """One ``--<wait>-days`` option per human wait, in the process's order;
    ``--on-deadline`` for what a deadline does; ``--effective`` for the date."""
    for option, wait, default in reversed(_DEADLINE_OPTIONS):
        command = click.option(option, type=DAYS, help=f"{wait} deadline ({_default(default)}).")(
            command
        )
    command = click.option(
        "--on-deadline", "on_deadline", multiple=True, metavar="WAIT=CHOICE", help=_ON_DEADLINE_HELP
    )(command)
    return click.option(
        "--effective",
        type=choice(Effective),
        default=Effective.AT_ONCE.value,
        show_default=True,
        help="When the cutover takes effect: at once, or at the end of the current billing month.",
    )(command)


def _on_deadline(pairs: tuple[str, ...]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for pair in pairs:
        wait, sep, what = pair.partition("=")
        if not sep or wait not in DEADLINE_CHOICES:
            waits = ", ".join(DEADLINE_CHOICES)
            raise BadInput("--on-deadline", f"must be WAIT=CHOICE with WAIT one of {waits}")
        allowed = sorted(choice.value for choice in DEADLINE_CHOICES[wait])
        if what not in allowed:
            raise BadInput("--on-deadline", f"{pair}: that deadline may only {'|'.join(allowed)}")
        chosen[wait] = what
    return chosen


_acknowledge_option = click.option(
    "--acknowledge-notice",
    is_flag=True,
    required=True,
    help="Confirm that the unbinding notice (`unbind notice`) was read and acknowledged.",
)


def _submit(
    customer: str,
    initiator: str,
    requested_by: Requester,
    operator: str | None,
    acknowledge_notice: bool,
    reason: str | None,
    *,
    effective: str,
    on_deadline: tuple[str, ...],
    reseller_review_days: timedelta | None,
    review_days: timedelta | None,
    confirmation_days: timedelta | None,
    card_days: timedelta | None,
    remediation_days: timedelta | None,
    as_json: bool,
) -> None:
    """Build the application from the options both commands share and submit it."""
    deadlines = build_deadlines(
        on_deadline=_on_deadline(on_deadline),
        reseller_review=reseller_review_days,
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
        effective=effective,
        requested_by=requested_by,
    )
    result = temporal(lambda client: client.submit(application))
    emit(as_json, result.model_dump(mode="json"), lambda: submission_text(result))
    if not result.accepted:
        raise click.exceptions.Exit(1)


@cli.command()
@customer_option
@click.option("--initiator", required=True, type=UIN, help="The reseller's UIN.")
@click.option(
    "--operator",
    type=UIN,
    help="The account submitting, when not the initiator's root account itself "
    "(a sub-user is refused by the root_account check).",
)
@_acknowledge_option
@reason_option
@_deadline_options
@json_option
def apply(
    customer: str,
    initiator: str,
    operator: str | None,
    acknowledge_notice: bool,
    reason: str | None,
    **rest: Any,
) -> None:
    """Submit an application; the preconditions are checked at once."""
    _submit(customer, initiator, Requester.RESELLER, operator, acknowledge_notice, reason, **rest)


@cli.command()
@customer_option
@click.option(
    "--operator",
    type=UIN,
    help="The account submitting, when not the customer's root account itself "
    "(a sub-user is refused by the root_account check).",
)
@_acknowledge_option
@reason_option
@_deadline_options
@json_option
def request(
    customer: str,
    operator: str | None,
    acknowledge_notice: bool,
    reason: str | None,
    **rest: Any,
) -> None:
    """The customer applies to leave its reseller; the reseller reviews (left
    unreviewed, the deadline approves unless --on-deadline says otherwise)."""
    _submit(customer, customer, Requester.CUSTOMER, operator, acknowledge_notice, reason, **rest)
