"""A green fault suite must mean the faults hit open work: a scenario whose
faults were not injected, landed on an idle system or missed their count
fails, and so does one whose worker died without being killed.
(Fabricated records; the real runs are in test_no_faults.py.)"""

from __future__ import annotations

from chaos.evidence import Evidence, FaultWindow, WorkerExits
from chaos.scenarios import ScenarioResult


def a_result(evidence: Evidence) -> ScenarioResult:
    """Every application as expected: only the evidence can fail it."""
    return ScenarioResult(
        name="scenario",
        applications=12,
        faults="-",
        as_expected=12,
        duplicated=0,
        lost=0,
        stuck=0,
        seconds=1.0,
        evidence=evidence,
    )


def test_kills_that_all_found_open_work_and_every_cutover_crash_prove_the_scenario() -> None:
    evidence = Evidence()
    evidence.kills_on_open_work([3, 5, 1, 2, 4, 6, 2, 1], required=8)
    evidence.cutover_crashes(4, limit=4)
    assert a_result(evidence).passed
    assert evidence.column() == "8/8 kills on open work; 4/4 crashes after cutover commit"


def test_no_kill_at_all_fails_naming_the_missing_kills() -> None:
    evidence = Evidence()
    evidence.kills_on_open_work([], required=8)
    assert not a_result(evidence).passed
    assert "0/8 kills on open work" in evidence.missing[0]


def test_kills_on_an_idle_system_do_not_count() -> None:
    evidence = Evidence()
    evidence.kills_on_open_work([2, 0, 0, 1, 0, 3, 0, 1], required=8)
    assert not evidence.proven
    assert "4/8 kills on open work" in evidence.missing[0]


def test_fewer_cutover_crashes_than_configured_fail() -> None:
    evidence = Evidence()
    evidence.cutover_crashes(0, limit=4)
    assert not a_result(evidence).passed
    assert "0/4 crashes after cutover commit" in evidence.missing[0]


def test_an_outage_that_began_or_ended_with_nothing_open_proves_nothing() -> None:
    evidence = Evidence()
    windows = [FaultWindow("server kill", 9, 7), FaultWindow("server kill", 4, 0)]
    evidence.windows_on_open_work(windows, required=2, what="server kills")
    assert not evidence.proven
    assert "1/2 server kills on open work" in evidence.missing[0]
    assert "4→0 open" in evidence.missing[0]


def test_a_database_lock_never_taken_fails() -> None:
    evidence = Evidence()
    evidence.windows_on_open_work([], required=1, what="database locks")
    assert not a_result(evidence).passed
    assert "0/1 database locks on open work" in evidence.missing[0]


def test_a_lock_held_over_open_applications_proves_the_scenario() -> None:
    evidence = Evidence()
    evidence.windows_on_open_work(
        [FaultWindow("database lock", 12, 11)], required=1, what="database locks"
    )
    assert evidence.proven
    assert evidence.column() == "1/1 database locks on open work (12→11 open)"


def test_no_cache_needs_every_worker_start_to_report_a_cache_of_zero() -> None:
    for reported in ([], [1000], [0, 1000]):
        evidence = Evidence()
        evidence.cache_disabled(reported)
        assert not a_result(evidence).passed, reported
        assert "max_cached_workflows=0" in evidence.missing[0]
    evidence = Evidence()
    evidence.cache_disabled([0, 0])
    assert evidence.proven


def test_a_worker_that_exits_by_itself_fails_the_scenario() -> None:
    exits = WorkerExits()
    exits.expect()
    exits.observe(crashes=0, code=-9, at=10.0)  # our kill
    exits.observe(crashes=1, code=-9, at=20.0)  # the cutover crash hook
    exits.observe(crashes=1, code=1, at=30.0)  # nobody's doing
    evidence = Evidence()
    evidence.kills_on_open_work([1], required=1)
    evidence.no_unexpected_exits(exits.unexpected)
    assert not a_result(evidence).passed
    assert evidence.missing == ["worker exited 1 times without being killed: exit code 1 at t+30 s"]


def test_every_exit_the_suite_caused_is_accounted_for() -> None:
    exits = WorkerExits()
    for _ in range(3):
        exits.expect()
        exits.observe(crashes=0, code=-9, at=1.0)
    exits.observe(crashes=1, code=-9, at=2.0)
    exits.observe(crashes=2, code=-9, at=3.0)
    assert exits.unexpected == []
