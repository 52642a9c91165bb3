"""The batch file (issue 13, item 6): every row validated before anything is
submitted, a bad one named by row, column and rule; ids derived from the batch
and the customer, so a batch run again finds what it already submitted."""

from __future__ import annotations

import pytest

from starter.batch import (
    BatchRow,
    BatchRowError,
    application_id_for,
    batch_id_for,
    build_batch,
    read_csv,
)
from starter.errors import BadInput

RESELLER = "10000000002"


def _build(text: str, **options: object) -> tuple[str, list[str]]:
    batch, applications = build_batch(
        read_csv(text), initiator_uin=RESELLER, notice_acknowledged=True, **options
    )
    return batch, [a.application_id for _, a in applications]


def test_rows_are_read_with_their_spreadsheet_numbers() -> None:
    rows = read_csv("customer_uin,reason\n20000000001,moving on\n\n 20000000002 ,\n")
    assert rows == [
        BatchRow(2, "20000000001", "moving on"),
        BatchRow(4, "20000000002", None),
    ]


def test_the_ids_depend_on_the_batch_and_the_customer_not_the_order() -> None:
    batch, ids = _build("customer_uin\n20000000001\n20000000002\n")
    again, ids_again = _build("customer_uin\n20000000002\n20000000001\n")
    assert batch == again == batch_id_for(RESELLER, ["20000000002", "20000000001"])
    assert sorted(ids) == sorted(ids_again)
    assert ids[0] == application_id_for(batch, "20000000001")
    other, _ = _build("customer_uin\n20000000001\n")
    assert other != batch
    named, named_ids = _build("customer_uin\n20000000001\n", batch_id="exit2026")
    assert (named, named_ids) == ("exit2026", ["batch-exit2026-20000000001"])


@pytest.mark.parametrize(
    ("text", "row", "column", "rule"),
    [
        ("", 1, None, "the header row is missing"),
        ("uin\n20000000001\n", 1, "uin", "unknown column"),
        ("reason\nx\n", 1, "customer_uin", "the column is required"),
        ("customer_uin,customer_uin\n1\n", 1, None, "named twice"),
        ("customer_uin\n", 2, None, "no customer"),
        ("customer_uin\n20000000001,extra\n", 2, None, "2 cells, the header has 1"),
        ("customer_uin\n20000000001\n02000000001\n", 3, "customer_uin", "5-20 digits"),
        ("customer_uin\n20000000001\n\n20000000001\n", 4, "customer_uin", "in row 2 too"),
        (f"customer_uin\n{RESELLER}\n", 2, "customer_uin", "must differ"),
        ("customer_uin,reason\n20000000001,\u202eevil\n", 2, "reason", ""),
    ],
)
def test_a_bad_row_is_named_and_refuses_the_whole_batch(
    text: str, row: int, column: str | None, rule: str
) -> None:
    with pytest.raises(BatchRowError) as refused:
        _build(text)
    error = refused.value
    assert (error.row, error.column) == (row, column)
    assert rule in error.row_rule
    assert error.exit_code == 2
    assert error.message.startswith(f"row {row}")


def test_a_bad_batch_option_is_not_blamed_on_a_row() -> None:
    with pytest.raises(BadInput) as refused:
        _build("customer_uin\n20000000001\n", batch_id="not ok!")
    assert refused.value.field == "--batch-id"
    with pytest.raises(BadInput) as unacknowledged:
        build_batch(
            read_csv("customer_uin\n20000000001\n"),
            initiator_uin=RESELLER,
            notice_acknowledged=False,
        )
    assert not isinstance(unacknowledged.value, BatchRowError)
    assert unacknowledged.value.field == "--acknowledge-notice"
