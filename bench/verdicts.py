"""What a bench run may claim: each target, the size of the full run it is
defined at, and the status words of the table. A verdict is tied to the size
actually run: a clean scale phase of 100 applications says nothing about
10,000, and a ratio over 4 applications is noise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KB = 1024


@dataclass(frozen=True)
class Target:
    sign: str
    value: float | bool
    size_key: str
    """The results key holding the size run (the sizes are results too)."""
    at_size: int
    """The full run's size (``make bench`` defaults): below it, no verdict."""
    floor_key: str | None = None
    """The results key of the same measure on the floor (``bench.frozen``): the
    best any design of the same actions does on this machine in this run."""


FULL_SCALE = 10_000
"""The scale target is "10,000 waiting, then confirmed"."""

TARGETS = {
    "ratio_vs_skeleton": Target("≥", 0.90, "apps", 200),
    "bytes_per_waiting_application": Target("≤", 100 * KB, "waiting", 2_000),
    "waiting_10k_ok": Target("=", True, "scale_apps", FULL_SCALE),
}

ISSUE_TARGETS = {
    "ratio_vs_frozen_skeleton": Target("≥", 1.3, "apps", 200, "floor_ratio_vs_frozen_skeleton"),
    "cpu_ms_per_app_total": Target("≤", 90, "apps", 200, "floor_cpu_ms_per_app_total"),
    "idle_apply_p50_ms": Target("≤", 100, "idle_apps", 15),
    "idle_confirm_p50_ms": Target("≤", 100, "idle_apps", 15),
    "action_latency_p95_ms": Target("≤", 1_500, "apps", 200, "floor_latency_p95_ms"),
    "bytes_per_waiting_application": Target(
        "≤", 80 * KB, "waiting", 2_000, "bytes_per_waiting_floor"
    ),
}
"""Issue 12's targets ("half the cost per application, answers in under
100 ms"), each at the size of the full ``make bench`` run; the idle latencies
at 15 applications per step, the size of the issue's own measurement. The
idle latencies have no floor: they are met."""

NO_ERRORS = "no errors"
MET = "met target"
MISSED = "missed target"
NOT_AT_SIZE = "not at target size"

LEGEND = "\n".join(
    [
        "status:",
        f'  "{NO_ERRORS}"  ran without a failure; the row has no target',
        f'  "{MET}" / "{MISSED}"  compared with its target (docs/PERFORMANCE.md)',
        f'  "{NOT_AT_SIZE}"  ran clean, but smaller than the full run its target is '
        "defined at (ratio: 200 apps, memory: 2,000 waiting, scale: 10,000): no verdict",
        '  "N errors"  failures (listed above); the row proves nothing',
    ]
)


def waiting_10k_ok(*, scale_apps: int, scale_ok: bool) -> bool | None:
    """The 10,000-waiting target: None (not measured) below 10,000 applications;
    else whether the scale phase was clean."""
    return scale_ok if scale_apps >= FULL_SCALE else None


def judged(key: str, value: Any, *, size: int) -> bool | None:
    """Whether ``value``, measured at ``size``, meets the target of ``key``;
    None when not measured or measured below the target's size."""
    return _meets(TARGETS[key], value, size=size)


def judged_issue(key: str, results: dict[str, Any], *, size: int) -> bool | None:
    """Like ``judged``, against issue 12's target of ``key`` in ``results``."""
    return _meets(ISSUE_TARGETS[key], results.get(key), size=size)


def issue_targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each of issue 12's targets: the value measured, the target, the size
    run and the size the target is defined at, and ``met`` (None: not
    measured, or measured below that size). A target with a floor also has
    the floor's value and ``reachable_here``: whether the floor meets it (False:
    no design of the same actions meets it on this machine in this run)."""
    report = {}
    for key, target in ISSUE_TARGETS.items():
        size = results.get(target.size_key) or 0
        report[key] = {
            "value": results.get(key),
            "target": f"{target.sign} {target.value:g}",
            "size": size,
            "at_size": target.at_size,
            "met": _meets(target, results.get(key), size=size),
        }
        if target.floor_key is not None:
            floor = results.get(target.floor_key)
            report[key]["floor"] = floor
            report[key]["reachable_here"] = _meets(target, floor, size=size)
    return report


def _meets(target: Target, value: Any, *, size: int) -> bool | None:
    if value is None or size < target.at_size:
        return None
    if target.sign == "≥":
        return bool(value >= target.value)
    if target.sign == "≤":
        return bool(value <= target.value)
    return bool(value == target.value)


def verdicts(results: dict[str, Any]) -> dict[str, bool | None]:
    return {
        key: judged(key, results.get(key), size=results.get(target.size_key) or 0)
        for key, target in TARGETS.items()
    }


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
