"""What a bench run may claim: each target, the size it is defined at, and the
status words of the table. A verdict is tied to the size actually run: a clean
scale phase of 100 applications says nothing about 10,000."""

from __future__ import annotations

from typing import Any

KB = 1024

FULL_SCALE = 10_000
"""The scale target is "10,000 waiting, then confirmed": below this, no verdict."""

TARGETS = {
    "ratio_vs_skeleton": ("≥", 0.90),
    "bytes_per_waiting_application": ("≤", 100 * KB),
    "waiting_10k_ok": ("=", True),
}

NO_ERRORS = "no errors"
MET = "met target"
MISSED = "missed target"
NOT_AT_SIZE = "not at target size"

LEGEND = (
    f'status: "{NO_ERRORS}" ran without a failure (the row has no target); '
    f'"{MET}" / "{MISSED}" compared with its target (docs/PERFORMANCE.md); '
    f'"{NOT_AT_SIZE}" ran clean but smaller than its target is defined at '
    f"(scale: {FULL_SCALE:,} applications), so no verdict; "
    '"N errors" failures, listed above.'
)


def waiting_10k_ok(*, scale_apps: int, scale_ok: bool) -> bool | None:
    """The 10,000-waiting target: None (not measured) below 10,000 applications;
    else whether the scale phase was clean."""
    return scale_ok if scale_apps >= FULL_SCALE else None


def errors_status(errors: int) -> str:
    """A row with no target: did it run without failures?"""
    return f"{errors} errors" if errors else NO_ERRORS


def target_status(met: bool | None, *, errors: int = 0) -> str:
    """A row with a target: failures first, then met, missed or not at size."""
    if errors:
        return f"{errors} errors"
    if met is None:
        return NOT_AT_SIZE
    return MET if met else MISSED


def meets(key: str, value: Any) -> bool | None:
    """Whether ``value`` meets the target of ``key``; None when not measured."""
    if value is None:
        return None
    sign, target = TARGETS[key]
    if sign == "≥":
        return bool(value >= target)
    if sign == "≤":
        return bool(value <= target)
    return bool(value == target)


def verdicts(results: dict[str, Any]) -> dict[str, bool | None]:
    return {key: meets(key, results.get(key)) for key in TARGETS}
