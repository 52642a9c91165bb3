"""How a bench run speaks: progress lines, the table, figures with their units."""

from __future__ import annotations

from datetime import UTC, datetime


def render(table: list[list[str]]) -> str:
    header = ["measurement", "work", "result", "detail", "status"]
    rows = [header, *table]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def progress(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


def rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"
