"""Many applications at once: a reseller leaving the programme unbinds all its
customers (``unbind apply-batch``, ``POST /applications/batch``).

Every row is validated before anything is submitted: a bad row is a
:class:`BatchRowError` naming the row, the column and the rule, and nothing
starts. Each customer's application id is derived from the batch (the
initiator and its customers, or a given batch id) and the customer, so a batch
run again after an interruption finds what the first run submitted and
submits only the rest (:meth:`~starter.client.UnbindingClient.submit_once`).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from starter.client import UnbindingClient
from starter.errors import ApplicationConflict, BadInput, UnbindError
from starter.inputs import build_application
from workflows.model import ApplicationInput, Deadlines, FailedCheck, UnbindStatus

COLUMNS = ("customer_uin", "reason")
"""``customer_uin`` is required; ``reason`` may be left empty."""
MAX_ROWS = 10_000
MAX_CONCURRENCY = 32
DEFAULT_CONCURRENCY = 4
BATCH_ID_PATTERN = r"^[A-Za-z0-9]{1,24}$"


class BatchRowError(BadInput):
    """A row of the batch breaks a rule: the whole batch is refused."""

    def __init__(self, row: int, column: str | None, rule: str) -> None:
        where = f"row {row}" + (f", {column}" if column else "")
        super().__init__(column, f"{where}: {rule}")
        self.row = row
        self.column = column
        self.row_rule = rule


@dataclass(frozen=True)
class BatchRow:
    """One customer of the batch; ``row`` counts the header as row 1, as a
    spreadsheet shows it."""

    row: int
    customer_uin: str
    reason: str | None = None


def read_csv(text: str) -> list[BatchRow]:
    """The rows of a batch file: a header naming ``customer_uin`` (and
    optionally ``reason``), then one customer per row, none twice."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise BatchRowError(1, None, f"the header row is missing: expected {', '.join(COLUMNS)}")
    names = [cell.strip() for cell in header]
    for name in names:
        if name not in COLUMNS:
            raise BatchRowError(1, name, f"unknown column: the columns are {', '.join(COLUMNS)}")
    if len(set(names)) != len(names):
        raise BatchRowError(1, None, "a column is named twice")
    if "customer_uin" not in names:
        raise BatchRowError(1, "customer_uin", "the column is required")
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(cells) > len(names):
            raise BatchRowError(number, None, f"{len(cells)} cells, the header has {len(names)}")
        values = dict(zip(names, (c.strip() for c in cells), strict=False))
        rows.append(BatchRow(number, values.get("customer_uin", ""), values.get("reason") or None))
        if len(rows) > MAX_ROWS:
            raise BatchRowError(number, None, f"a batch holds at most {MAX_ROWS} customers")
    if not rows:
        raise BatchRowError(2, None, "no customer: the file has a header but no rows")
    return rows


def batch_id_for(initiator_uin: str, customers: Iterable[str]) -> str:
    """The same initiator and customers, in any order, make the same batch."""
    canonical = "\n".join([initiator_uin, *sorted(customers)])
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def application_id_for(batch_id: str, customer_uin: str) -> str:
    return f"batch-{batch_id}-{customer_uin}"


# The model's fields as the batch's rows and options name them.
_ROW_FIELDS = {"--customer": "customer_uin", "--reason": "reason"}


def build_batch(
    rows: Sequence[BatchRow],
    *,
    initiator_uin: str,
    notice_acknowledged: bool,
    submitter_uin: str | None = None,
    deadlines: Deadlines | None = None,
    batch_id: str | None = None,
) -> tuple[str, list[tuple[BatchRow, ApplicationInput]]]:
    """The batch id and every row's application, all validated; the first
    bad row raises :class:`BatchRowError` (nothing is submitted)."""
    if batch_id is not None and not re.fullmatch(BATCH_ID_PATTERN, batch_id):
        raise BadInput("--batch-id", "must be 1-24 letters or digits")
    seen: dict[str, int] = {}
    for row in rows:
        if row.customer_uin in seen:
            raise BatchRowError(
                row.row,
                "customer_uin",
                f"customer {row.customer_uin} is in row {seen[row.customer_uin]} too",
            )
        seen[row.customer_uin] = row.row
    batch = batch_id or batch_id_for(initiator_uin, seen)
    applications = []
    for row in rows:
        try:
            application = build_application(
                customer_uin=row.customer_uin,
                initiator_uin=initiator_uin,
                submitter_uin=submitter_uin,
                notice_acknowledged=notice_acknowledged,
                reason=row.reason,
                deadlines=deadlines,
                application_id=application_id_for(batch, row.customer_uin),
            )
        except BadInput as error:
            # No field: the model's own rule (the customer is not the initiator).
            column = _ROW_FIELDS.get(error.field) if error.field else "customer_uin"
            if column is None:  # not the row's: an option of the whole batch
                raise
            raise BatchRowError(row.row, column, error.rule) from None
        applications.append((row, application))
    return batch, applications


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    """The submission checks failed (``failed_checks`` names them)."""
    CONFLICT = "conflict"
    """Another application is open for the customer."""
    ERROR = "error"
    """Temporal could not be used or did not answer: run the batch again."""


class CustomerOutcome(BaseModel):
    row: int
    customer_uin: str
    application_id: str
    workflow_id: str
    outcome: Outcome
    status: UnbindStatus | None = None
    failed_checks: list[FailedCheck] = []
    resumed: bool = False
    """Submitted by an earlier run of the batch; read back, not submitted again."""
    detail: str | None = None


class BatchResult(BaseModel):
    batch_id: str
    outcomes: list[CustomerOutcome]
    """In the rows' order."""
    complete: bool
    """False when interrupted: the customers missing from ``outcomes`` were not
    (or not knowingly) submitted; run the batch again to resume."""

    @property
    def all_accepted(self) -> bool:
        return self.complete and all(o.outcome is Outcome.ACCEPTED for o in self.outcomes)


Gate = Callable[[ApplicationInput], Awaitable[list[FailedCheck] | None]]
"""Checks read before an application is submitted: the failed ones refuse it
with nothing started (the API's refusal of a stranger's), None lets it through."""


async def submit_one(
    client: UnbindingClient,
    row: BatchRow,
    application: ApplicationInput,
    checked_first: Gate | None = None,
) -> CustomerOutcome:
    """One customer's outcome; a business refusal or an unreachable Temporal
    is that customer's outcome, never the end of the batch."""
    known = {
        "row": row.row,
        "customer_uin": application.customer_uin,
        "application_id": application.application_id,
        "workflow_id": f"unbind-{application.customer_uin}",
    }
    if checked_first is not None and (failed := await checked_first(application)) is not None:
        return CustomerOutcome(
            **known,
            outcome=Outcome.REFUSED,
            status=UnbindStatus.PRECHECK_FAILED,
            failed_checks=failed,
        )
    try:
        result, resumed = await client.submit_once(application)
    except ApplicationConflict as error:
        return CustomerOutcome(**known, outcome=Outcome.CONFLICT, detail=error.message)
    except UnbindError as error:
        return CustomerOutcome(**known, outcome=Outcome.ERROR, detail=error.message)
    if result.status is UnbindStatus.VALIDATING:
        # Started by an earlier run whose answer was lost, still being checked.
        return CustomerOutcome(
            **known,
            outcome=Outcome.ERROR,
            status=result.status,
            resumed=resumed,
            detail="submitted, its checks not answered yet: run the batch again for the answer",
        )
    return CustomerOutcome(
        **{**known, "workflow_id": result.workflow_id},
        outcome=Outcome.ACCEPTED if result.accepted else Outcome.REFUSED,
        status=result.status,
        failed_checks=result.failed_checks,
        resumed=resumed,
    )


async def submit_batch(
    client: UnbindingClient,
    batch_id: str,
    applications: Sequence[tuple[BatchRow, ApplicationInput]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_outcome: Callable[[CustomerOutcome], None] | None = None,
    done: list[CustomerOutcome] | None = None,
    checked_first: Gate | None = None,
) -> BatchResult:
    """Submit every application, at most ``concurrency`` at a time, calling
    ``on_outcome`` as each finishes. ``done`` collects the outcomes as they
    come, so a caller interrupted midway still has them."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise BadInput("--concurrency", f"must be 1-{MAX_CONCURRENCY}")
    outcomes = done if done is not None else []
    gate = asyncio.Semaphore(concurrency)

    async def one(row: BatchRow, application: ApplicationInput) -> None:
        async with gate:
            outcome = await submit_one(client, row, application, checked_first)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    async with asyncio.TaskGroup() as group:
        for row, application in applications:
            group.create_task(one(row, application))
    return BatchResult(batch_id=batch_id, outcomes=in_row_order(outcomes), complete=True)


def in_row_order(outcomes: Iterable[CustomerOutcome]) -> list[CustomerOutcome]:
    return sorted(outcomes, key=lambda outcome: outcome.row)
