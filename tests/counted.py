"""Tallies a test's helpers keep of what they generated, read per test by the
session summary (tests/session_summary.py). One test runs at a time."""

from __future__ import annotations

_storm_actions = 0


def start() -> None:
    """A new test begins: nothing sent yet."""
    global _storm_actions
    _storm_actions = 0


def storm_action_sent() -> None:
    global _storm_actions
    _storm_actions += 1


def storm_actions() -> int:
    return _storm_actions
