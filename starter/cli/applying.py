"""``unbind apply``: submit an application; the preconditions are checked at once."""

from __future__ import annotations

from datetime import timedelta

import click

from starter.cli.app import cli, customer_option, json_option, reason_option, temporal
from starter.cli.output import emit, submission_text
from starter.cli.types import DAYS, UIN
from starter.errors import describe_duration
from starter.inputs import build_application, build_deadlines
from workflows.settings import SETTINGS


def _default(deadline: timedelta) -> str:
    return (
        f"default {describe_duration(deadline)}; "
        f"{describe_duration(SETTINGS.min_deadline)} to {describe_duration(SETTINGS.max_deadline)}"
    )


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
    help="Confirm that the unbinding notice was read and acknowledged.",
)
@reason_option
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
