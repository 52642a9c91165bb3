"""How a test session leaves the process: with the status pytest would report,
and never 0 unless the session really finished.

temporalio/sdk-python#300: the core's threads can abort interpreter shutdown
(exit 134) after every test has run, so the session leaves with ``os._exit``
from ``pytest_unconfigure`` (NOTES.md). That bypasses pytest's own return
value, so the status starts as a failure and only a finished
``pytest_sessionfinish`` (every implementation of it returned) replaces it.
pytest skips ``sessionfinish`` when configure or session start raises; the
status is then the one pytest recorded on the session (3, or 2 on Ctrl-C),
never 0. Without a session (``--help``, ``--markers``) no worker ran: pytest
leaves on its own.

tests/conftest.py loads this plugin; tests/test_session_exit.py copies this
file into broken sessions and compares their exit codes with pytest's own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator

import pytest

_finished_with: int | None = None
"""The session's status once ``pytest_sessionfinish`` has returned."""


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    global _finished_with
    # Raises (and leaves the status failing) if any sessionfinish raised.
    result = yield
    # Read after every implementation ran: a plugin may change session.exitstatus.
    _finished_with = int(session.exitstatus)
    return result


def leaving_status(session: pytest.Session) -> int:
    """What the process exits with: the finished session's status; before
    that, what pytest recorded, and a failure if it recorded nothing."""
    if _finished_with is not None:
        return _finished_with
    return int(session.exitstatus) or int(pytest.ExitCode.INTERNAL_ERROR)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.pluginmanager.get_plugin("session")
    if not isinstance(session, pytest.Session):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(leaving_status(session))
