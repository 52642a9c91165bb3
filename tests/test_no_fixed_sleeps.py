"""No test waits a fixed time for something to happen.

A sleep is a guess at how long the machine needs: too short on a loaded CI
machine (a flaky test), too long everywhere else (a slow one), and it never
says what it waits for. Tests wait on the event itself (a gate's "entered", a
workflow's answer, an ``asyncio.Event`` from a hook), or, for what no event
announces (the list view catching up, a history going quiet), probe it with
``tests.conftest.eventually``. Timing targets belong to the bench (bench/),
not to assertions here.

Every ``asyncio.sleep``/``time.sleep`` (or Playwright's ``wait_for_timeout``)
under tests/ must sit in one of the helpers below, each with the reason it is
not a guess.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SLEEPING_MODULES = frozenset({"asyncio", "time", "trio", "anyio"})

ALLOWED: dict[tuple[str, str], str] = {
    ("tests/conftest.py", "eventually"): (
        "the one poll: the pause between two probes of a condition that no event "
        "announces, bounded by `within`"
    ),
    ("tests/workflows/storms.py", "Storm._update"): (
        "the storm plays an at-least-once client, whose back-off before sending an "
        "update again is the behaviour under test, not a wait for an outcome"
    ),
}
"""(file, enclosing function) -> why its sleep is not a guess at a duration."""


@dataclass(frozen=True)
class Sleep:
    path: str
    scope: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.scope}"


class _SleepFinder(ast.NodeVisitor):
    """Every reference to a sleep function (called or passed on), with the
    function or method it sits in."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.scope: list[str] = []
        self.modules: set[str] = set()
        """Local names bound to a sleeping module (``import asyncio as aio``)."""
        self.functions: set[str] = set()
        """Local names bound to a sleep (``from time import sleep``)."""
        self.found: list[Sleep] = []

    def _record(self, node: ast.expr) -> None:
        self.found.append(Sleep(self.path, ".".join(self.scope) or "<module>", node.lineno))

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name in SLEEPING_MODULES:
                self.modules.add(alias.asname or alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module in SLEEPING_MODULES:
            for alias in node.names:
                if alias.name == "sleep":
                    self.functions.add(alias.asname or alias.name)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        sleeps = (
            node.attr == "sleep"
            and isinstance(node.value, ast.Name)
            and node.value.id in self.modules
        )
        # Playwright's fixed pause: the browser tests wait on locators instead.
        if sleeps or node.attr == "wait_for_timeout":
            self._record(node)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.functions and isinstance(node.ctx, ast.Load):
            self._record(node)


def sleeps_in(source: str, path: str) -> list[Sleep]:
    finder = _SleepFinder(path)
    finder.visit(ast.parse(source, filename=path))
    return finder.found


def sleeps_under_tests() -> list[Sleep]:
    found: list[Sleep] = []
    for file in sorted(TESTS.rglob("*.py")):
        path = file.relative_to(ROOT).as_posix()
        found += sleeps_in(file.read_text(encoding="utf-8"), path)
    return found


def test_no_test_sleeps_outside_the_justified_helpers() -> None:
    unjustified = [s for s in sleeps_under_tests() if (s.path, s.scope) not in ALLOWED]
    assert unjustified == [], (
        "fixed sleeps in tests (wait on the event instead, or poll with "
        "tests.conftest.eventually; justify a new helper in ALLOWED):\n"
        + "\n".join(f"  {s}" for s in unjustified)
    )


def test_every_allowed_helper_still_sleeps() -> None:
    """An entry whose sleep has gone is removed, so the list stays the truth."""
    sleeping = {(s.path, s.scope) for s in sleeps_under_tests()}
    assert set(ALLOWED) - sleeping == set()


@pytest.mark.parametrize(
    ("source", "scopes"),
    [
        ("import asyncio\nasync def f():\n    await asyncio.sleep(1)\n", ["f"]),
        ("import time\nclass C:\n    def m(self):\n        time.sleep(0.1)\n", ["C.m"]),
        ("import asyncio as aio\nasync def f():\n    await aio.sleep(1)\n", ["f"]),
        ("from time import sleep as nap\ndef f():\n    nap(1)\n", ["f"]),
        ("import time\ndef f(loop):\n    loop.run_in_executor(None, time.sleep, 1)\n", ["f"]),
        ("import time\ntime.sleep(1)\n", ["<module>"]),
        # Not a sleep of the test's own: a child process's command line, another sleep.
        ('CHILD = ["python", "-c", "import time; time.sleep(60)"]\n', []),
        ("async def f(page):\n    await page.wait_for_timeout(500)\n", ["f"]),
        ("def f(workflow):\n    return workflow.sleep(1)\n", []),
    ],
    ids=[
        "asyncio",
        "time-in-a-method",
        "module-alias",
        "imported-function",
        "passed-on",
        "module-level",
        "in-a-string",
        "playwright-pause",
        "another-objects-sleep",
    ],
)
def test_the_guard_finds_each_way_of_sleeping(source: str, scopes: list[str]) -> None:
    assert [s.scope for s in sleeps_in(source, "example.py")] == scopes
