"""``unbind apply-batch``: one application per customer of a CSV file, a few at
a time, with progress; interrupted, it is resumed by running it again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from starter.batch import (
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    BatchResult,
    CustomerOutcome,
    Outcome,
    build_batch,
    in_row_order,
    read_csv,
    submit_batch,
)
from starter.cli.app import cli, json_option, temporal
from starter.cli.output import one_line, print_json
from starter.cli.types import UIN, Count
from starter.errors import BadInput

INTERRUPTED = 130
"""The shell's code for a command stopped by Ctrl-C."""


@cli.command("apply-batch")
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV with a header: customer_uin (required), reason (optional).",
)
@click.option("--initiator", required=True, type=UIN, help="The reseller's UIN.")
@click.option("--operator", type=UIN, help="The account submitting, when not the initiator.")
@click.option(
    "--acknowledge-notice",
    is_flag=True,
    required=True,
    help="Confirm that the unbinding notice was read and acknowledged for every customer.",
)
@click.option(
    "--concurrency",
    type=Count(1, MAX_CONCURRENCY),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Submissions in flight at once.",
)
@click.option(
    "--batch-id",
    help="Name the batch (1-24 letters or digits); default: one derived from the "
    "initiator and the customers, so the same file resumes the same batch.",
)
@json_option
def apply_batch(
    path: Path,
    initiator: str,
    operator: str | None,
    acknowledge_notice: bool,
    concurrency: int,
    batch_id: str | None,
    as_json: bool,
) -> None:
    """Submit one application per customer of a CSV file; run it again after
    an interruption to submit only those not yet submitted.

    Exit codes: 0 every customer accepted, 1 some refused (the table says
    which checks failed), 2 a bad file (nothing submitted), 130 interrupted."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput("--file", "cannot read the file: it is not UTF-8 text") from None
    except (OSError, ValueError) as error:
        # The path is not echoed: it may carry characters a terminal would obey.
        reason = error.strerror if isinstance(error, OSError) else None
        raise BadInput("--file", f"cannot read the file: {reason or 'not a usable path'}") from None
    batch, applications = build_batch(
        read_csv(text),
        initiator_uin=initiator,
        submitter_uin=operator,
        notice_acknowledged=acknowledge_notice,
        batch_id=batch_id,
    )
    done: list[CustomerOutcome] = []
    err = Console(stderr=True)
    show_bar = err.is_terminal and not as_json
    with Progress(
        TextColumn("batch {task.fields[batch]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
        console=err,
        disable=not show_bar,
    ) as progress:
        task = progress.add_task("submitting", total=len(applications), batch=batch, last="")

        def on_outcome(outcome: CustomerOutcome) -> None:
            progress.update(task, advance=1, last=f"{outcome.customer_uin} {outcome.outcome.value}")
            if not show_bar and not as_json:
                click.echo(
                    f"[{len(done)}/{len(applications)}] {outcome.customer_uin}: "
                    f"{outcome.outcome.value}",
                    err=True,
                )

        try:
            result = temporal(
                lambda client: submit_batch(
                    client,
                    batch,
                    applications,
                    concurrency=concurrency,
                    on_outcome=on_outcome,
                    done=done,
                )
            )
        except (KeyboardInterrupt, asyncio.CancelledError):
            result = BatchResult(batch_id=batch, outcomes=in_row_order(done), complete=False)
    _report(result, total=len(applications), as_json=as_json)
    if not result.complete:
        raise click.exceptions.Exit(INTERRUPTED)
    if not result.all_accepted:
        raise click.exceptions.Exit(1)


def _report(result: BatchResult, *, total: int, as_json: bool) -> None:
    if as_json:
        print_json({**result.model_dump(mode="json"), "total": total})
        return
    out = Console(width=None if Console().is_terminal else 200, soft_wrap=False)
    out.print(outcome_table(result))
    counts = {kind: sum(o.outcome is kind for o in result.outcomes) for kind in Outcome}
    summary = ", ".join(f"{n} {kind.value}" for kind, n in counts.items() if n)
    resumed = sum(o.resumed for o in result.outcomes)
    out.print(
        Text(
            f"batch {result.batch_id}: {len(result.outcomes)} of {total} customers: "
            f"{summary or 'none'}" + (f" ({resumed} found from an earlier run)" if resumed else "")
        )
    )
    if not result.complete:
        out.print(Text("interrupted: run the same command again to submit the rest"))


def outcome_table(result: BatchResult) -> Table:
    """One row per customer: accepted, or what failed. Every cell is plain
    text (``Text``): a reason or hint is never read as rich markup."""
    table = Table(title=f"batch {result.batch_id}")
    for column in ("row", "customer", "outcome", "status", "failed checks / detail"):
        table.add_column(column)
    for outcome in result.outcomes:
        what = "; ".join(f"{c.check}: {one_line(c.hint)}" for c in outcome.failed_checks)
        what = what or one_line(outcome.detail or "")
        if outcome.resumed:
            what = f"(from an earlier run) {what}".strip()
        table.add_row(
            Text(str(outcome.row)),
            Text(outcome.customer_uin),
            Text(outcome.outcome.value),
            Text(outcome.status.value if outcome.status else "-"),
            Text(what or "-"),
        )
    return table
