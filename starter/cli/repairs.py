"""``unbind close-terminated``: the operators' repair after a Terminate."""

from __future__ import annotations

from starter.cli import app
from starter.cli.database import partner_center
from starter.cli.output import emit
from starter.configuration import database_url
from starter.connection import connect_config
from starter.repair import close_terminated, require_operator


@app.cli.command("close-terminated")
@app.customer_option
@app.actor_option
@app.reason_option
@app.json_option
def close_terminated_command(customer: str, actor: str, reason: str | None, as_json: bool) -> None:
    """Close the record of an application whose workflow was terminated.

    Terminate skips the workflow's own ending: the unbinding record stays open
    and refuses every new application for the customer. This tells the parties
    and closes the record (CANCELLED, or COMPLETED if the cutover was made), for
    applications Temporal reports as terminated, failed or timed out. Refused
    while the application still runs. Operators only (--as operator:NAME);
    running it again changes nothing.
    """
    # Input first, then both configurations, before anything is opened.
    require_operator(actor)
    database_url()
    connect_config()
    with partner_center() as pc:
        repairs = app.temporal(
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

    emit(as_json, data, text)
