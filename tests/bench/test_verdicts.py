"""The bench claims only what it measured: the 10,000-waiting target has no
verdict below 10,000 applications, and a status says whether a row met its
target, missed it, ran too small to judge, or merely ran without errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.verdicts import (
    LEGEND,
    MET,
    MISSED,
    NO_ERRORS,
    NOT_AT_SIZE,
    target_status,
    verdicts,
    waiting_10k_ok,
)
from starter.devstack.process import ROOT


@pytest.mark.parametrize("scale_apps", [1, 100, 2_000, 9_999])
def test_below_ten_thousand_the_target_is_not_judged(scale_apps: int) -> None:
    assert waiting_10k_ok(scale_apps=scale_apps, scale_ok=True) is None
    assert waiting_10k_ok(scale_apps=scale_apps, scale_ok=False) is None


@pytest.mark.parametrize("scale_apps", [10_000, 12_000])
def test_at_ten_thousand_or_more_a_clean_run_meets_it_and_an_error_misses_it(
    scale_apps: int,
) -> None:
    assert waiting_10k_ok(scale_apps=scale_apps, scale_ok=True) is True
    assert waiting_10k_ok(scale_apps=scale_apps, scale_ok=False) is False


def clean_run(*, apps: int, ratio: float, waiting: int, scale_apps: int) -> dict[str, object]:
    """A bench result with no errors, 90 KB per waiting application."""
    return {
        "apps": apps,
        "ratio_vs_skeleton": ratio,
        "waiting": waiting,
        "bytes_per_waiting_application": 90_000,
        "scale_apps": scale_apps,
        "waiting_10k_ok": waiting_10k_ok(scale_apps=scale_apps, scale_ok=True),
    }


def test_a_small_clean_run_claims_no_target() -> None:
    results = clean_run(apps=16, ratio=0.95, waiting=100, scale_apps=100)
    assert set(verdicts(results).values()) == {None}


def test_a_full_run_is_judged_against_every_target() -> None:
    results = clean_run(apps=200, ratio=0.65, waiting=2_000, scale_apps=10_000)
    assert verdicts(results) == {
        "ratio_vs_skeleton": False,
        "bytes_per_waiting_application": True,
        "waiting_10k_ok": True,
    }


def test_the_statuses_are_distinct_and_explained() -> None:
    assert target_status(None) == NOT_AT_SIZE
    assert target_status(True) == MET
    assert target_status(False) == MISSED
    assert target_status(True, errors=2) == "2 errors"
    for status in (NO_ERRORS, MET, MISSED, NOT_AT_SIZE):
        assert f'"{status}"' in LEGEND


@pytest.mark.integration
def test_a_small_real_run_does_not_claim_ten_thousand(tmp_path: Path) -> None:
    # The scale phase alone: the full small run takes a minute or two on a loaded machine.
    sizes = ["--apps", "4", "--waiting", "10", "--scale", "10", "--phases", "scale"]
    run = subprocess.run(
        [sys.executable, "-m", "bench", *sizes, "--run-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["scale_apps"] == 10
    assert result["scale_ok"] is True
    assert result["waiting_10k_ok"] is None
    assert result["targets_met"]["waiting_10k_ok"] is None
    scale_row = next(line for line in run.stdout.splitlines() if line.startswith("scale: 10 "))
    assert scale_row.rstrip().endswith(NOT_AT_SIZE)
    assert LEGEND in run.stdout
