"""``unbind notice`` (the texts people agree to) and ``unbind evidence`` (one
application's consent evidence, from the database alone)."""

from __future__ import annotations

import click

from starter.cli.app import cli, customer_option, json_option
from starter.cli.database import partner_center
from starter.cli.output import emit, print_json
from starter.cli.types import APPLICATION_ID, choice
from starter.evidence import EvidenceFormat, evidence, rendered
from workflows.notice import CURRENT, VERSIONS, Consent


@cli.command()
@click.option(
    "--consent",
    type=choice(Consent),
    default=Consent.NOTICE.value,
    show_default=True,
    help="Which text: the notice the submitter acknowledges, or what the "
    "distributor (review) or the customer (confirmation) decides on.",
)
@click.option(
    "--version",
    "version",
    type=click.Choice(sorted(VERSIONS)),
    default=CURRENT.version,
    show_default=True,
    help="The version of the texts.",
)
@json_option
def notice(consent: str, version: str, as_json: bool) -> None:
    """Print a text people agree to, with its version and SHA-256 (what
    `apply`, `review`, `confirm` and `reject` record as evidence)."""
    texts = VERSIONS[version]
    which = Consent(consent)
    data = {
        "consent": which.value,
        "version": version,
        "sha256": texts.sha256(which),
        "text": texts.texts[which],
    }
    emit(
        as_json,
        data,
        lambda: f"{data['text']}\n-- {which} text, version {version}, SHA-256 {data['sha256']}",
    )


@cli.command("evidence")
@customer_option
@click.option(
    "--application",
    type=APPLICATION_ID,
    help="One application's id (default: the customer's latest).",
)
@click.option(
    "--format",
    "form",
    type=choice(EvidenceFormat),
    default=EvidenceFormat.MARKDOWN.value,
    show_default=True,
    help="json, or a readable page: markdown or html.",
)
@json_option
def evidence_command(customer: str, application: str | None, form: str, as_json: bool) -> None:
    """Export one application's consent evidence from the database (no
    Temporal needed): who acknowledged or decided what, when, through which
    principal, on which text, with the hashes to check."""
    with partner_center() as pc:
        data = evidence(pc, customer, application)
    chosen = EvidenceFormat.JSON if as_json else EvidenceFormat(form)
    if chosen is EvidenceFormat.JSON:
        print_json(data)
    else:
        click.echo(rendered(data, chosen), nl=False)
