"""Green means proven: a test session exits 0 only when it really finished and
passed, and its summary says what ran.

tests/session_exit.py leaves with ``os._exit`` (the SDK's exit-time crash,
NOTES.md), which skips pytest's own return value. Each broken session below
runs twice in a subprocess, once with a copy of that hook and once without it
(pytest's own answer): the codes must be the same, and non-zero.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXIT_HOOK = ROOT / "tests" / "session_exit.py"
RULE_CASE = "tests/workflows/test_rules.py::test_every_action_in_every_state_by_every_party"
PROPERTY = "tests/workflows/test_rules_properties.py::test_wrong_actors_never_change_anything"
EXAMPLES = 7

PASSING = "def test_passes():\n    assert True\n"
FAILING = "def test_fails():\n    assert 1 == 2\n"
BROKEN = {
    # name: (extra conftest hooks, test files, extra arguments)
    "configure raises": (
        "def pytest_configure(config):\n    raise RuntimeError('broken configure')\n",
        {"test_a.py": PASSING},
        (),
    ),
    "session start raises": (
        "def pytest_sessionstart(session):\n    raise RuntimeError('broken start')\n",
        {"test_a.py": PASSING},
        (),
    ),
    "syntax error": ("", {"test_a.py": "def test_broken(:\n", "test_b.py": PASSING}, ()),
    "a failing test": ("", {"test_a.py": FAILING, "test_b.py": PASSING}, ()),
    "no tests collected": ("", {"test_a.py": "ANSWER = 42\n"}, ()),
    "usage error": ("", {"test_a.py": PASSING}, ("--no-such-option",)),
    "keyboard interrupt": (
        "",
        {"test_a.py": "def test_interrupted():\n    raise KeyboardInterrupt\n"},
        (),
    ),
}


def _pytest(directory: Path, *args: str) -> int:
    """pytest alone (no plugins installed beside it) on ``directory``."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=directory,
        env={**os.environ, "PYTEST_ADDOPTS": "", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode


def _session(tmp_path: Path, hooks: str, files: dict[str, str], *, exit_hook: bool) -> Path:
    directory = tmp_path / ("with-exit-hook" if exit_hook else "pytest-own")
    directory.mkdir()
    (directory / "pytest.ini").write_text("[pytest]\n")
    prelude = EXIT_HOOK.read_text() if exit_hook else "import pytest\n"
    (directory / "conftest.py").write_text(prelude + "\n\n" + hooks)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


@pytest.mark.parametrize("broken", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_session_exits_as_pytest_would_and_never_0(
    broken: tuple[str, dict[str, str], tuple[str, ...]], tmp_path: Path
) -> None:
    hooks, files, args = broken

    ours = _pytest(_session(tmp_path, hooks, files, exit_hook=True), *args)
    pytests_own = _pytest(_session(tmp_path, hooks, files, exit_hook=False), *args)

    assert ours != 0
    assert ours == pytests_own


def test_a_passing_session_exits_0(tmp_path: Path) -> None:
    directory = _session(tmp_path, "", {"test_a.py": PASSING}, exit_hook=True)

    assert _pytest(directory) == 0


def test_the_summary_counts_the_rule_table_apart_and_the_examples_run() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"{RULE_CASE}[initiator-confirm-PENDING_CUSTOMER_CONFIRMATION]",
            f"{RULE_CASE}[customer-confirm-PENDING_CUSTOMER_CONFIRMATION]",
            PROPERTY,
            "tests/workflows/test_rules.py::test_every_check_name_is_one_the_spec_names",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTEST_ADDOPTS": "", "UNBIND_PROPERTY_EXAMPLES": str(EXAMPLES)},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"=+ what ran =+", done.stdout), done.stdout
    assert (
        "rule cross-product (tests/workflows/test_rules.py): 2 cases; "
        "the rest: 2 tests (0 on a Temporal server, 0 in a browser)"
    ) in done.stdout
    assert f"hypothesis examples run: {EXAMPLES} in 1 tests" in done.stdout
    assert f"  tests/workflows/test_rules_properties.py: {EXAMPLES} in 1 tests" in done.stdout
    assert "storm actions sent: none (no storm test ran)" in done.stdout
