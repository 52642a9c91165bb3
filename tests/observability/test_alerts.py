"""The alert rules, evaluated by Prometheus's own rule engine (``promtool test
rules``) on series labelled exactly as a live worker exported them after the
scenarios (conftest.py): each alert fires on its condition, with the labels
and texts its summary names, and stays quiet without it. So a ``by`` label the
worker does not export, a histogram whose buckets cannot reach the threshold,
or a template that names a missing label fails here."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.observability.conftest import Played
from tests.observability.scrape import Sample, Scrape
from tests.observability.test_dashboards import ALERTS

pytestmark = pytest.mark.integration

PROMTOOL_TIMEOUT = 60


@dataclass(frozen=True)
class Scenario:
    """Input series (``name{labels}`` → promtool's expanding notation), and
    the alert's labels at ``eval_time`` (None: quiet)."""

    alert: str
    series: dict[str, str]
    eval_time: str
    fires_with: dict[str, str] | None
    value: str = field(default="")
    """What ``{{ $value }}`` renders to when it fires."""


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool is missing: `make test` installs it with Debian's prometheus package "
            "(apt-get install --no-install-recommends prometheus)"
        )
    return found


def series_name(sample: Sample, **changes: str) -> str:
    labels = {**sample.labels, **changes}
    quoted = ",".join(f'{k}="{_escaped(v)}"' for k, v in sorted(labels.items()))
    return f"{sample.name}{{{quoted}}}"


def _escaped(value: str) -> str:
    """A label value inside PromQL's double quotes."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def exported(scrape: Scrape, name: str, *, failed: bool = False) -> Sample:
    """A series of ``name`` as the worker exported it (one that counted, if ``failed``)."""
    candidates = [s for s in scrape.samples if s.name == name and (s.value > 0 or not failed)]
    assert candidates, f"the worker exported no {name}{' above 0' if failed else ''}"
    return candidates[0]


def buckets(scrape: Scrape, name: str) -> list[Sample]:
    """One histogram's buckets (the first label set the worker exported)."""
    first = exported(scrape, name)
    same = {k: v for k, v in first.labels.items() if k != "le"}
    return [
        s
        for s in scrape.samples
        if s.name == name and {k: v for k, v in s.labels.items() if k != "le"} == same
    ]


def latency_scenarios(alert: str, scrape: Scrape, name: str, threshold: float) -> list[Scenario]:
    """Every wait above ``threshold`` (fires), or every wait in the first bucket (quiet)."""
    histogram = buckets(scrape, name)
    bounds = sorted(float(s.labels["le"]) for s in histogram)
    assert any(threshold < b < float("inf") for b in bounds), (
        f"{name}'s buckets {bounds} cannot tell a wait above {threshold} s"
    )
    slow = {
        series_name(s): "0x40" if float(s.labels["le"]) <= threshold else "0+10x40"
        for s in histogram
    }
    fast = {series_name(s): "0+10x40" for s in histogram}
    labels = {"severity": "warning", "task_queue": histogram[0].labels["task_queue"]}
    return [
        Scenario(alert, slow, "20m", labels),
        Scenario(alert, fast, "20m", None),
    ]


def scenarios(scrape: Scrape) -> list[Scenario]:
    task = exported(scrape, "temporal_workflow_task_execution_failed_total", failed=True)
    activity = exported(scrape, "temporal_activity_execution_failed_total", failed=True)
    past = exported(scrape, "unbinding_applications_past_deadline")
    return [
        Scenario(
            "UnbindingWorkflowTaskFailures",
            {series_name(task): "0+1x30"},
            "10m",
            {
                "severity": "page",
                "workflow_type": task.labels["workflow_type"],
                "task_queue": task.labels["task_queue"],
            },
        ),
        Scenario("UnbindingWorkflowTaskFailures", {series_name(task): "4x30"}, "10m", None),
        # One failed attempt a minute is 10 in 10 minutes: above 5; one in four minutes is not.
        Scenario(
            "UnbindingActivityRetries",
            {series_name(activity): "0+1x40"},
            "25m",
            {"severity": "warning", "activity_type": activity.labels["activity_type"]},
        ),
        Scenario("UnbindingActivityRetries", {series_name(activity): "0+0.25x40"}, "25m", None),
        *latency_scenarios(
            "UnbindingActivityScheduleToStartLatency",
            scrape,
            "temporal_activity_schedule_to_start_latency_bucket",
            5,
        ),
        *latency_scenarios(
            "UnbindingWorkflowTaskScheduleToStartLatency",
            scrape,
            "temporal_workflow_task_schedule_to_start_latency_bucket",
            2,
        ),
        Scenario(
            "UnbindingApplicationsPastDeadline",
            {series_name(past): "0 0 2x30"},
            "15m",
            {"severity": "page", "task_queue": past.labels["task_queue"]},
            value="2",
        ),
        Scenario("UnbindingApplicationsPastDeadline", {series_name(past): "0x30"}, "15m", None),
    ]


def rendered(template: str, labels: dict[str, str], value: str) -> str:
    """A rule's annotation as Prometheus renders it for these labels."""
    text = re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda m: labels[m[1]], template)
    return re.sub(r"\{\{\s*\$value\s*\}\}", value, text)


def promtool_tests(rules: dict[str, dict[str, str]], cases: list[Scenario]) -> list[object]:
    tests: list[object] = []
    for case in cases:
        expected = []
        if case.fires_with is not None:
            annotations = {
                key: rendered(text, case.fires_with, case.value)
                for key, text in rules[case.alert].items()
            }
            expected.append({"exp_labels": case.fires_with, "exp_annotations": annotations})
        tests.append(
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in case.series.items()],
                "alert_rule_test": [
                    {"eval_time": case.eval_time, "alertname": case.alert, "exp_alerts": expected}
                ],
            }
        )
    return tests


def test_every_alert_fires_on_its_condition_and_only_then(played: Played, tmp_path: Path) -> None:
    rules = {
        rule["alert"]: rule.get("annotations", {})
        for group in yaml.safe_load(ALERTS.read_text())["groups"]
        for rule in group["rules"]
    }
    cases = scenarios(played.metrics)
    assert {case.alert for case in cases} == set(rules), "an alert without a scenario"
    spec = tmp_path / "alerts.test.yml"
    spec.write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(ALERTS)],
                "evaluation_interval": "1m",
                "tests": promtool_tests(rules, cases),
            },
            sort_keys=False,
        )
    )
    checked = subprocess.run(
        [promtool(), "test", "rules", str(spec)],
        capture_output=True,
        text=True,
        timeout=PROMTOOL_TIMEOUT,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout, checked.stdout
