"""The Grafana dashboard and the Prometheus alert rules use only metrics a
live worker exports: every name in their expressions is among the names
scraped from the worker's endpoint after the scenarios (conftest.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.observability.conftest import Played
from workflows import metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "ops" / "grafana" / "unbinding.json"
ALERTS = ROOT / "ops" / "prometheus" / "alerts.yml"

KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
    | {"and", "or", "unless", "offset", "inf", "nan"}
)


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not
    functions, keywords, label names, label values or durations."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', "", expression)  # label values, strings
    e = re.sub(r"\{[^}]*\}", "", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)  # ranges and subqueries
    e = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        rest = e[match.end() :].lstrip()
        if match.group() in KEYWORDS or rest.startswith("("):
            continue
        names.add(match.group())
    return names


def dashboard_expressions() -> Iterator[str]:
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel.get("targets", []):
            yield target["expr"]


def alert_expressions() -> Iterator[str]:
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            yield str(rule["expr"])


def test_the_extractor_finds_names_and_only_names() -> None:
    expression = (
        'histogram_quantile(0.95, sum by (le, wait) (rate(a_bucket{wait="x"}[5m]))) '
        "> 2 and on (task_queue) max(b_total offset 1h) / c"
    )
    assert metric_names(expression) == {"a_bucket", "b_total", "c"}


@pytest.mark.integration
@pytest.mark.parametrize(
    "source", ["dashboard", "alerts"], ids=["grafana-dashboard", "prometheus-alerts"]
)
def test_every_metric_used_is_exported_by_a_live_worker(played: Played, source: str) -> None:
    expressions = list(dashboard_expressions() if source == "dashboard" else alert_expressions())
    used = set().union(*(metric_names(e) for e in expressions))
    assert used, f"no expressions read from the {source}"
    missing = used - played.metrics.names
    assert not missing, f"the {source} uses metrics no worker exported: {sorted(missing)}"


def test_the_alerts_cover_what_operations_asked_for() -> None:
    used = set().union(*(metric_names(e) for e in alert_expressions()))
    assert {
        "temporal_workflow_task_execution_failed_total",
        "temporal_activity_execution_failed_total",
        "temporal_activity_schedule_to_start_latency_bucket",
        "temporal_workflow_task_schedule_to_start_latency_bucket",
        "unbinding_applications_past_deadline",
    } <= used


def test_the_dashboard_shows_every_business_metric() -> None:
    used = set().union(*(metric_names(e) for e in dashboard_expressions()))
    business = {
        metrics.APPLICATIONS_STARTED,
        metrics.APPLICATIONS_ENDED,
        metrics.ACTIONS,
        metrics.REMINDERS_SENT,
        metrics.RECHECKS,
        metrics.DEADLINES_PASSED,
    }
    assert {f"{name}_total" for name in business} <= used
    assert f"{metrics.WAIT_DURATION}_bucket" in used
    assert "unbinding_applications_past_deadline" in used
