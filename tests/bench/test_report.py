"""The bench's report: the frozen skeleton-v1 is the shape issue 12 lists,
issue 12's targets are judged only at their size, and the figures are drawn
from a results file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.image import imread

from bench import report
from bench.frozen import BadFrozenSkeleton, bare_shapes, floor_shapes, frozen_shapes
from bench.paths import PATHS
from bench.verdicts import ISSUE_TARGETS, KB, issue_targets
from starter.devstack.process import ROOT

ISSUE_12_SHAPES = {
    "customer rejects": [4, 3],
    "direct, card binding": [4, 3, 7],
    "direct, card bound": [4, 7],
    "distributor rejects": [4, 3],
    "final check fails, recheck": [4, 5, 6],
    "precheck fails": [1],
    "second level, approved": [4, 3, 7],
    "withdrawn": [4, 2],
}


def test_the_frozen_skeleton_is_the_shape_issue_12_lists_for_every_path() -> None:
    shapes = frozen_shapes()
    assert shapes == ISSUE_12_SHAPES
    assert set(shapes) == {story.name for story in PATHS}


def test_a_frozen_file_that_misses_a_path_is_refused(tmp_path: Path) -> None:
    partial = {k: v for k, v in ISSUE_12_SHAPES.items() if k != "withdrawn"}
    path = tmp_path / "skeleton.json"
    path.write_text(json.dumps({"shapes": partial}))
    with pytest.raises(BadFrozenSkeleton, match="withdrawn"):
        frozen_shapes(path)
    path.write_text(json.dumps({"shapes": {**ISSUE_12_SHAPES, "withdrawn": [4, -1]}}))
    with pytest.raises(BadFrozenSkeleton, match="'withdrawn'"):
        frozen_shapes(path)


def full_run(**changes: object) -> dict[str, object]:
    """A full-size result meeting every issue 12 target, with ``changes``."""
    return {
        "apps": 200,
        "waiting": 2_000,
        "idle_apps": 15,
        "ratio_vs_frozen_skeleton": 1.31,
        "cpu_ms_per_app_total": 90.0,
        "idle_apply_p50_ms": 99.0,
        "idle_confirm_p50_ms": 100.0,
        "action_latency_p95_ms": 1_499.0,
        "bytes_per_waiting_application": 80 * KB,
        **changes,
    }


def test_issue_12_targets_are_met_at_their_bounds() -> None:
    targets = issue_targets(full_run())
    assert set(targets) == set(ISSUE_TARGETS)
    assert {key: t["met"] for key, t in targets.items()} == dict.fromkeys(ISSUE_TARGETS, True)
    assert targets["cpu_ms_per_app_total"]["target"] == "≤ 90"
    assert targets["ratio_vs_frozen_skeleton"]["target"] == "≥ 1.3"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ratio_vs_frozen_skeleton", 1.29),
        ("cpu_ms_per_app_total", 90.1),
        ("idle_apply_p50_ms", 100.1),
        ("idle_confirm_p50_ms", 252.0),
        ("action_latency_p95_ms", 1_501.0),
        ("bytes_per_waiting_application", 80 * KB + 1),
    ],
)
def test_one_value_past_its_target_misses_only_that_target(key: str, value: float) -> None:
    targets = issue_targets(full_run(**{key: value}))
    assert targets[key]["met"] is False
    assert all(t["met"] for other, t in targets.items() if other != key)


def test_a_smoke_run_judges_the_idle_latencies_only() -> None:
    targets = issue_targets(full_run(apps=16, waiting=100))
    met = {key: t["met"] for key, t in targets.items()}
    assert met == {
        "ratio_vs_frozen_skeleton": None,
        "cpu_ms_per_app_total": None,
        "idle_apply_p50_ms": True,
        "idle_confirm_p50_ms": True,
        "action_latency_p95_ms": None,
        "bytes_per_waiting_application": None,
    }
    assert targets["cpu_ms_per_app_total"] == {
        "value": 90.0,
        "target": "≤ 90",
        "size": 16,
        "at_size": 200,
        "met": None,
        "floor": None,
        "reachable_here": None,
    }


def test_the_floors_are_every_path_with_its_actions_and_one_activity_or_none() -> None:
    frozen = frozen_shapes()
    assert floor_shapes(frozen) == {name: [1] * len(s) for name, s in ISSUE_12_SHAPES.items()}
    assert bare_shapes(frozen) == {name: [0] * len(s) for name, s in ISSUE_12_SHAPES.items()}
    assert floor_shapes({"withdrawn": ["aa", "a"]}) == {"withdrawn": [1, 1]}
    assert bare_shapes({"withdrawn": ["aa", "a"]}) == {"withdrawn": [0, 0]}


@pytest.mark.parametrize(
    ("key", "floor_key", "reachable", "out_of_reach"),
    [
        ("action_latency_p95_ms", "floor_latency_p95_ms", 1_200.0, 2_177.0),
        ("cpu_ms_per_app_total", "floor_cpu_ms_per_app_total", 40.0, 95.0),
        ("ratio_vs_frozen_skeleton", "floor_ratio_vs_frozen_skeleton", 2.2, 1.2),
        ("bytes_per_waiting_application", "bytes_per_waiting_floor", 60 * KB, 81 * KB),
    ],
)
def test_a_target_the_floor_misses_is_out_of_reach_here_whatever_the_value(
    key: str, floor_key: str, reachable: float, out_of_reach: float
) -> None:
    assert issue_targets(full_run(**{floor_key: reachable}))[key]["reachable_here"] is True
    judged = issue_targets(full_run(**{floor_key: out_of_reach}))[key]
    assert (judged["met"], judged["floor"], judged["reachable_here"]) == (True, out_of_reach, False)
    assert (
        issue_targets(full_run(apps=16, waiting=100, **{floor_key: out_of_reach}))[key][
            "reachable_here"
        ]
        is None
    )


def test_the_idle_latencies_have_no_floor() -> None:
    targets = issue_targets(full_run())
    assert "floor" not in targets["idle_apply_p50_ms"]
    assert "floor" not in targets["idle_confirm_p50_ms"]


def test_a_target_not_measured_has_no_verdict() -> None:
    results = full_run()
    del results["idle_apply_p50_ms"]
    assert issue_targets(results)["idle_apply_p50_ms"]["met"] is None


def test_every_figure_is_drawn_from_a_results_file(tmp_path: Path) -> None:
    results = {
        "apps": 16,
        "waiting": 100,
        "date": "2026-11-29T22:00:00+00:00",
        "cpu_ms_per_app": {
            "unbinding": {"server": 100.0, "worker": 70.0, "bench": 5.0},
            "skeleton": {"server": 70.0, "worker": 40.0, "bench": 3.0},
            "skeleton-v1": {"server": 70.0, "worker": 41.0, "bench": 3.0},
        },
        "workers_per_s": {"1": 5.5, "2": 4.6, "4": 2.4},
    }
    samples = {"unbinding actions": [0.8, 1.1, 1.7], "idle apply": [0.06, 0.07]}
    rss = {"unbinding": [(0, 100 * 2**20), (100, 117 * 2**20)]}
    path = report.write_results(tmp_path / "run.json", results, samples=samples, rss=rss)
    written = json.loads(path.read_text())
    assert written["latency_samples_ms"]["idle apply"] == [60.0, 70.0]
    assert written["rss_points"]["unbinding"] == [[0, 100 * 2**20], [100, 117 * 2**20]]

    drawn = report.draw(path, tmp_path / "figures")
    assert [p.name for p in drawn] == list(report.FIGURES)
    for figure in drawn:
        height, width, _ = imread(figure).shape
        assert height > 100 and width > 100, figure


def test_a_results_file_of_one_phase_draws_only_its_figure(tmp_path: Path) -> None:
    results = {"apps": 4, "workers_per_s": {"1": 3.0, "2": 3.5, "4": 3.1}}
    path = report.write_results(tmp_path / "run.json", results, samples={}, rss={})
    assert [p.name for p in report.draw(path, tmp_path)] == ["throughput-workers.png"]


@pytest.mark.integration
def test_a_small_real_idle_run_writes_its_results_file_and_figures(tmp_path: Path) -> None:
    results_file = tmp_path / "results.json"
    sizes = ["--idle", "2", "--phases", "idle", "--results", str(results_file)]
    run = subprocess.run(
        [sys.executable, "-m", "bench", *sizes, "--run-dir", str(tmp_path / "run")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    last = json.loads(run.stdout.splitlines()[-1])
    assert f"results: {results_file}" in run.stdout
    assert last["results_file"] == str(results_file)
    assert last["idle_apps"] == 2 and last["idle_errors"] == 0
    assert last["idle_apply_p50_ms"] > 0 and last["idle_confirm_p50_ms"] > 0
    # Two applications per step are below the 15 the idle targets are defined at.
    assert last["targets"]["idle_apply_p50_ms"]["met"] is None
    assert last["idle_round_trip_ms"]["activity dispatch"] >= 0
    assert last["idle_round_trip_ms"]["apply: client beyond the server"] > 0
    # The worker's own timing of each activity, by type (bench.timing).
    in_worker = last["idle_activity_in_worker_ms"]
    assert in_worker["all"] > 0 and in_worker["commit"] > 0
    written = json.loads(results_file.read_text())
    assert len(written["latency_samples_ms"]["idle confirm"]) == 2
    assert (tmp_path / "results" / "latency.png").is_file()
