"""Progress of long work, for the person watching: what is being done, how
far it is, and an estimate of the time left.

Everything goes to stderr, so stdout stays the command's result (the bench's
last line of JSON, the fault suite's table, ``--json`` output). On a terminal
rich draws one live bar per phase (several phases may run at once); anywhere
else (CI logs, a pipe) each phase is plain lines: one when it starts, one at
about every tenth of the way (at most every ``PLAIN_EVERY`` seconds, at least
every ``PLAIN_AT_LEAST``), one when it ends.

    from starter.progress import phase, say

    say("seeding the ledger")                 # one line of what is happening
    with phase("applying", total=len(rows)) as done:
        for row in rows:
            apply(row)
            done()                              # one more finished (done(5): five)

``phase`` may wrap concurrent work (call ``done()`` from each task); a phase
left by an exception says how far it got.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

PLAIN_STEPS = 10
"""Plain output reports about every 1/PLAIN_STEPS of a phase..."""
PLAIN_EVERY = 2.0
"""...but not more often than every this many seconds..."""
PLAIN_AT_LEAST = 30.0
"""...and at least this often while the phase runs, so a slow phase still shows life."""


class _Terminal:
    """The one live display all phases share while any is running."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress: Progress | None = None
        self.phases = 0

    def add(self, description: str, total: int | None) -> TaskID:
        if self.progress is None:
            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self.progress.start()
        self.phases += 1
        return self.progress.add_task(description, total=total)

    def finish(self) -> None:
        self.phases -= 1
        if self.phases == 0 and self.progress is not None:
            self.progress.stop()
            self.progress = None


# stderr=True: rich looks sys.stderr up at each write (pytest swaps it).
_console = Console(stderr=True)
_terminal = _Terminal(_console)


def interactive() -> bool:
    """Whether progress is drawn live (stderr is a terminal) or written as lines."""
    return _console.is_terminal


def say(text: str) -> None:
    """One line of what is happening now."""
    if interactive():
        _console.print(text, markup=False, highlight=False)
    else:
        print(text, file=sys.stderr, flush=True)


def _seconds(value: float) -> str:
    """``42s``, ``3m05s``, ``4h03m``."""
    whole = round(value)
    if whole >= 3600:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{whole}s"


class Phase:
    """One counted phase of long work; see the module docstring."""

    def __init__(self, description: str, total: int | None = None) -> None:
        self.description = description
        self.total = total
        self.count = 0
        self._started = 0.0
        self._last_line = 0.0
        self._next_step = 0
        self._task: TaskID | None = None

    def __enter__(self) -> Phase:
        self._started = self._last_line = time.monotonic()
        if interactive():
            self._task = _terminal.add(self.description, self.total)
        else:
            of = f" (0/{self.total})" if self.total is not None else ""
            say(f"{self.description}: started{of}")
        return self

    def __call__(self, count: int = 1) -> None:
        """``count`` more units of the phase are finished."""
        self.count += count
        if self._task is not None and _terminal.progress is not None:
            _terminal.progress.advance(self._task, count)
            return
        now = time.monotonic()
        step = self.total // PLAIN_STEPS if self.total else 0
        due_by_step = self.count >= self._next_step and now - self._last_line >= PLAIN_EVERY
        if due_by_step or now - self._last_line >= PLAIN_AT_LEAST:
            self._last_line = now
            self._next_step = self.count + max(1, step)
            say(f"{self.description}: {self._status(now)}")

    def _status(self, now: float) -> str:
        elapsed = now - self._started
        if not self.total:
            return f"{self.count} done, {_seconds(elapsed)} elapsed"
        left = ""
        if 0 < self.count < self.total:
            left = f", about {_seconds(elapsed / self.count * (self.total - self.count))} left"
        share = 100 * self.count // self.total
        return f"{self.count}/{self.total} ({share}%), {_seconds(elapsed)} elapsed{left}"

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        elapsed = _seconds(time.monotonic() - self._started)
        if self._task is not None:
            _terminal.finish()
            if kind is not None:
                say(f"{self.description}: stopped at {self.count} after {elapsed}")
            return
        of = f"/{self.total}" if self.total is not None else ""
        ending = "done" if kind is None else "stopped at"
        say(f"{self.description}: {ending} {self.count}{of} in {elapsed}")


def phase(description: str, total: int | None = None) -> Phase:
    """A counted phase of long work: ``with phase("filling", total=n) as done: ... done()``."""
    return Phase(description, total)
