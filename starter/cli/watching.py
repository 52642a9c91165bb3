"""Watching applications: ``status``, ``list`` and a party's ``inbox``."""

from __future__ import annotations

import click

from starter.cli.app import cli, customer_option, json_option, temporal
from starter.cli.database import partner_center
from starter.cli.output import emit, state_text, table, when
from starter.cli.types import UIN, choice
from workflows.model import UnbindStatus
from workflows.texts import one_line


@cli.command()
@customer_option
@json_option
def status(customer: str, as_json: bool) -> None:
    """The customer's latest application, open or ended, with its timeline."""
    report = temporal(lambda client: client.report(customer))
    data = {
        **report.state.model_dump(mode="json"),
        "execution_status": report.execution_status,
        "run_id": report.run_id,
    }
    emit(as_json, data, lambda: state_text(report.state, report.execution_status))


@cli.command("list")
@click.option("--status", "status_filter", type=choice(UnbindStatus), help="Only this status.")
@click.option("--reseller", type=UIN, help="Only this reseller's applications.")
@click.option("--distributor", type=UIN, help="Only this distributor's applications.")
@json_option
def list_applications(
    status_filter: str | None, reseller: str | None, distributor: str | None, as_json: bool
) -> None:
    """Applications, newest first, from the search attributes."""
    selected = UnbindStatus(status_filter) if status_filter else None
    summaries = temporal(
        lambda client: client.list(
            status=selected, reseller_uin=reseller, distributor_uin=distributor
        )
    )
    rows = [summary.model_dump(mode="json") for summary in summaries]

    def text() -> str:
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
                when(s.deadline),
            )
            for s in summaries
        ]
        return table(cells)

    emit(as_json, rows, text)


@cli.command()
@click.option("--account", required=True, type=UIN, help="Whose system messages.")
@json_option
def inbox(account: str, as_json: bool) -> None:
    """An account's system messages, oldest first."""
    with partner_center() as pc:
        messages = pc.inbox(account)

    def text() -> str:
        if not messages:
            return f"no messages for {account}"
        lines = []
        for message in messages:
            lines.append(f"{message['at']}  {message['event']}  {message['workflow_id']}")
            lines.append(f"  {one_line(message['subject'])}")
            # A body's own lines stay; each is shown as one visible line.
            lines += [f"    {one_line(line)}" for line in str(message["body"]).splitlines()]
        return "\n".join(lines)

    emit(as_json, messages, text)
