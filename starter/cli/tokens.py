"""``unbind token`` (development tokens for the HTTP API) and ``unbind audit``
(the attempts the API refused)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import click

from starter.cli.app import cli, json_option
from starter.cli.database import partner_center
from starter.cli.output import emit, table
from starter.cli.types import UIN, Count, IsoTime
from starter.errors import BadInput
from workflows.fields import OPERATOR_PATTERN
from workflows.texts import one_line

OPERATOR_NAME_RULE = "must be 1-64 letters, digits or ._@-, starting with a letter or digit"
MAX_TOKEN_HOURS = 24 * 30


class _OperatorName(click.ParamType):
    name = "NAME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if not isinstance(value, str) or not re.fullmatch(OPERATOR_PATTERN, f"operator:{value}"):
            self.fail(OPERATOR_NAME_RULE, param, ctx)
        return value


@cli.command()
@click.option("--account", type=UIN, help="The account the token is for (its sub).")
@click.option("--owner", type=UIN, help="The root account, when --account is its sub-user.")
@click.option(
    "--operator", type=_OperatorName(), help="An operator's name: acts as operator:<name>."
)
@click.option(
    "--hours",
    type=Count(1, MAX_TOKEN_HOURS),
    default=12,
    show_default=True,
    help="How long the token is valid.",
)
@json_option
def token(
    account: str | None, owner: str | None, operator: str | None, hours: int, as_json: bool
) -> None:
    """A DEVELOPMENT token for the HTTP API, signed with this machine's dev key
    (var/dev-keys/ or UNBIND_DEV_KEY_DIR). The API accepts it only with
    UNBIND_API_DEV_TOKENS=1 and no production key configured."""
    # Imported here: the HTTP API's packages are the optional [api] extra.
    from starter.api.devkeys import issue_dev_token

    if (account is None) == (operator is None):
        raise BadInput("--account", "give --account UIN or --operator NAME (one of them)")
    if owner is not None and operator is not None:
        raise BadInput("--owner", "an operator's token has no owner")
    issued = issue_dev_token(
        account=account, owner=owner, operator=operator, lifetime=timedelta(hours=hours)
    )
    emit(as_json, {"token": issued}, issued)


@cli.command()
@click.option(
    "--since",
    type=IsoTime(),
    help="Only refusals at or after this time: ISO 8601, as the audit prints it (UTC if no zone).",
)
@click.option("--limit", type=Count(1, 10000), default=100, show_default=True)
@json_option
def audit(since: datetime | None, limit: int, as_json: bool) -> None:
    """Attempts the HTTP API refused (bad token, wrong party, wrong state, bad
    input), newest first."""
    with partner_center() as pc:
        rows = pc.refusals(since=since, limit=limit)
    data = [row.as_json() for row in rows]

    def text() -> str:
        if not rows:
            return "no refused attempts"
        header = ("AT", "STATUS", "PRINCIPAL", "METHOD", "PATH", "REASON")
        cells = [header] + [
            (
                row.at.isoformat(timespec="seconds"),
                str(row.status_code),
                one_line(row.principal or "-"),
                row.method,
                one_line(row.path),
                one_line(row.reason),
            )
            for row in rows
        ]
        return table(cells)

    emit(as_json, data, text)
