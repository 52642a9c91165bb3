"""``unbind apply``: submit an application; the preconditions are checked at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import click

from starter.cli.app import cli, customer_option, json_option, reason_option, temporal
from starter.cli.output import emit, submission_text
from starter.cli.types import DAYS, UIN
from starter.errors import describe_duration
from starter.inputs import build_application, build_deadlines
from workflows.settings import SETTINGS

_F = TypeVar("_F", bound=Callable[..., Any])


def _default(deadline: timedelta) -> str:
    return (
        f"default {describe_duration(deadline)}; "
        f"{describe_duration(SETTINGS.min_deadline)} to {describe_duration(SETTINGS.max_deadline)}"
    )


_DEADLINE_OPTIONS = (
    ("--review-days", "Distributor review", SETTINGS.distributor_review_deadline),
    ("--confirmation-days", "Customer confirmation", SETTINGS.customer_confirmation_deadline),
    ("--card-days", "Card binding", SETTINGS.card_binding_deadline),
    ("--remediation-days", "Remediation", SETTINGS.remediation_deadline),
)


def _deadline_options(command: _F) -> _F:
    """One ``--<wait>-days`` option per human wait, in the process's order."""
    for option, wait, default in reversed(_DEADLINE_OPTIONS):
        command = click.option(option, type=DAYS, help=f"{wait} deadline ({_default(default)}).")(
            command
        )
    return command


@cli.command()
@customer_option
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
    help="Confirm that the unbinding notice (`unbind notice`) was read and acknowledged.",
)
@reason_option
@_deadline_options
@json_option
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
    result = temporal(lambda client: client.submit(application))
    emit(as_json, result.model_dump(mode="json"), lambda: submission_text(result))
    if not result.accepted:
        raise click.exceptions.Exit(1)
