"""Progress of long work (starter/progress.py): counts and the time left on
stderr, plain lines off a terminal, live bars on one, and stdout untouched
(the bench's last line stays its JSON, the fault suite's table stays whole)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from bench import context as bench_context
from starter import progress
from starter.progress import phase, say


class Clock:
    """``time.monotonic`` for the progress module, moved on by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(progress, "time", fake)
    return fake


def test_off_a_terminal_a_phase_is_plain_lines_with_counts_and_time_left(
    clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    with phase("filling", total=4) as done:
        clock.now += 3
        done()
        clock.now += 3
        done()
        clock.now += 1  # too soon after the last line for another
        done()
        clock.now += 2
        done()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "filling: started (0/4)",
        "filling: 1/4 (25%), 3s elapsed, about 9s left",
        "filling: 2/4 (50%), 6s elapsed, about 6s left",
        "filling: 4/4 (100%), 9s elapsed",
        "filling: done 4/4 in 9s",
    ]


def test_a_slow_phase_still_shows_life_and_an_interrupted_one_says_how_far(
    clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(RuntimeError), phase("confirming", total=1000) as done:
        clock.now += 3
        done()  # 1 of 1000: the first tenth is not reached, but a line is due
        clock.now += 1
        done()
        clock.now += 40
        done()
        raise RuntimeError("the server went away")
    assert capsys.readouterr().err.splitlines() == [
        "confirming: started (0/1000)",
        "confirming: 1/1000 (0%), 3s elapsed, about 49m57s left",
        "confirming: 3/1000 (0%), 44s elapsed, about 4h03m left",
        "confirming: stopped at 3/1000 in 44s",
    ]


def test_on_a_terminal_rich_draws_the_bars(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    monkeypatch.setattr(progress, "_console", console)
    monkeypatch.setattr(progress, "_terminal", progress._Terminal(console))
    assert progress.interactive()
    with phase("scenarios", total=2) as done, phase("applications", total=3) as played:
        say("Playing scenario 1")
        done()
        played(3)
    drawn = screen.getvalue()
    assert "Playing scenario 1" in drawn
    assert "scenarios" in drawn and "1/2" in drawn
    assert "applications" in drawn and "3/3" in drawn
    assert progress._terminal.progress is None  # the live display ends with its last phase


async def test_the_bench_counts_its_jobs_on_stderr_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def job(n: int) -> None:
        if n == 2:
            raise ValueError("two")

    failures = await bench_context.all_of((job(n) for n in range(3)), concurrency=2, label="3 jobs")
    captured = capsys.readouterr()
    assert [str(f) for f in failures] == ["two"]
    assert captured.out == ""
    assert captured.err.splitlines()[0] == "3 jobs: started (0/3)"
    assert captured.err.splitlines()[-1].startswith("3 jobs: done 3/3 in ")
