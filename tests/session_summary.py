"""What the session exercised, said apart from the headline test count.

About half the collected tests are one cross-product of a pure function (the
rule table, marked ``cross_product``); the rest reach a Temporal server, a
browser, the partner center. The summary counts them apart, and counts what
the generated tests really ran: hypothesis examples per test (their sizes
follow UNBIND_PROPERTY_EXAMPLES, UNBIND_FUZZ_EXAMPLES) and the actions the
storms sent (UNBIND_STORM_ACTIONS). Only tests whose body ran are counted.

tests/conftest.py loads this plugin; tests/test_session_exit.py checks the
lines on a small session.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from typing import Any

import pytest
from hypothesis.statistics import collector

from tests import counted

CROSS_PRODUCT = "cross_product"
ON_A_SERVER_MARKERS = ("integration", "timeskipping")
ON_A_SERVER_FIXTURES = ("dev_env", "time_skipping_env")
BROWSER_MARKER = "browser"
ON_A_SERVER, IN_A_BROWSER = "server", "browser"
"""Kinds of test besides the cross-product (a browser test is on a server too)."""
RAN = ("passed", "failed")
HEADLINE = "what ran"


class SessionSummary:
    """Kinds of every test item, whether its body ran, what it generated."""

    def __init__(self) -> None:
        self.kinds: dict[str, set[str]] = {}
        self.files: dict[str, str] = {}
        self.ran: set[str] = set()
        self.skipped: set[str] = set()
        self.examples: dict[str, int] = {}
        self.storm_actions: dict[str, int] = {}

    def note_item(self, item: pytest.Item) -> None:
        kinds = set()
        if item.get_closest_marker(CROSS_PRODUCT):
            kinds.add(CROSS_PRODUCT)
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures.intersection(ON_A_SERVER_FIXTURES) or any(
            item.get_closest_marker(name) for name in ON_A_SERVER_MARKERS
        ):
            kinds.add(ON_A_SERVER)
        if item.get_closest_marker(BROWSER_MARKER):
            kinds.add(IN_A_BROWSER)
        self.kinds[item.nodeid] = kinds
        self.files[item.nodeid] = item.nodeid.split("::", 1)[0]

    def note_report(self, report: pytest.TestReport) -> None:
        if report.when == "call" and report.outcome in RAN:
            self.ran.add(report.nodeid)
        elif report.skipped:
            self.skipped.add(report.nodeid)

    def lines(self) -> list[str]:
        ran = [nodeid for nodeid in self.kinds if nodeid in self.ran]
        table = [n for n in ran if CROSS_PRODUCT in self.kinds[n]]
        rest = [n for n in ran if CROSS_PRODUCT not in self.kinds[n]]
        on_server = sum(ON_A_SERVER in self.kinds[n] for n in rest)
        in_browser = sum(IN_A_BROWSER in self.kinds[n] for n in rest)
        tables = ", ".join(sorted({self.files[n] for n in table}))
        skipped = len(self.skipped - self.ran)
        lines = [
            f"rule cross-product{f' ({tables})' if tables else ''}: {len(table)} cases; "
            f"the rest: {len(rest)} tests ({on_server} on a Temporal server, "
            f"{in_browser} in a browser)" + (f"; {skipped} skipped" if skipped else "")
        ]
        lines += _generated(
            "hypothesis examples run", "property or fuzz", self.examples, self.files
        )
        lines += _generated("storm actions sent", "storm", self.storm_actions, self.files)
        return lines


def _generated(title: str, kind: str, counts: dict[str, int], files: dict[str, str]) -> list[str]:
    """One total line, then one line per file, largest first."""
    if not counts:
        return [f"{title}: none (no {kind} test ran)"]
    per_file: Counter[str] = Counter()
    tests_per_file: Counter[str] = Counter()
    for nodeid, count in counts.items():
        per_file[files.get(nodeid, nodeid)] += count
        tests_per_file[files.get(nodeid, nodeid)] += 1
    lines = [f"{title}: {sum(counts.values())} in {len(counts)} tests"]
    lines += [
        f"  {path}: {count} in {tests_per_file[path]} tests"
        for path, count in per_file.most_common()
    ]
    return lines


_summary = SessionSummary()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        _summary.note_item(item)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Count what the test body generated. Innermost wrapper: hypothesis's own
    plugin sets its statistics callback first; this one passes them on."""
    outer = collector.value

    def note_examples(statistics: dict[str, Any]) -> None:
        # Every phase (explicit, reuse, generate, target, shrink, explain): the
        # cases that ran the body to a verdict, not those rejected while drawing.
        _summary.examples[item.nodeid] = _summary.examples.get(item.nodeid, 0) + sum(
            case["status"] in ("valid", "interesting")
            for key, phase in statistics.items()
            if key.endswith("-phase") and isinstance(phase, dict)
            for case in phase.get("test-cases", ())
        )
        if outer is not None:
            outer(statistics)

    counted.start()
    try:
        with collector.with_value(note_examples):
            return (yield)
    finally:
        if sent := counted.storm_actions():
            _summary.storm_actions[item.nodeid] = sent


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _summary.note_report(report)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _summary.kinds or terminalreporter.config.option.collectonly:
        return
    terminalreporter.section(HEADLINE)
    for line in _summary.lines():
        terminalreporter.line(line)
