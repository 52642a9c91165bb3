"""One child process of a local stack, with its log file. It can be killed
(SIGKILL) or stopped (SIGTERM, then SIGKILL) and started again; a restart
appends to the same log, after a line saying which start it is."""

from __future__ import annotations

import contextlib
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The project directory: every child runs there."""
STOP_TIMEOUT = 30.0
"""Seconds a child may take to stop after SIGTERM (a worker allows itself 20
to finish running activities)."""
LOG_TAIL_LINES = 25


class StackFailed(Exception):
    """A process the stack needs could not start, or died."""


class ChildProcess:
    """A process started from ``command`` with its output in ``log_path``."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self.forced_stops = 0
        self.started_at = 0.0
        """Wall clock of the latest start."""

    def start(self) -> None:
        if self.running:
            raise StackFailed(f"the {self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab" if self.starts else "wb") as log:
            log.write(f"==== start {self.starts + 1}: {shlex.join(self.command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: Ctrl-C reaches the parent only, which stops its
                # children in order (a worker before the server it talks to).
                start_new_session=True,
            )
        self.starts += 1
        self.started_at = time.time()

    @property
    def pid(self) -> int:
        if self.process is None:
            raise StackFailed(f"the {self.name} was never started")
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no goodbye."""
        if self.process is not None and self.running:
            self.process.kill()
            self.process.wait()
            self.kills += 1

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM, wait, then SIGKILL if it would not go; the exit code."""
        if self.process is None:
            return None
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.forced_stops += 1
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def died(self) -> StackFailed:
        return StackFailed(
            f"the {self.name} exited early (code {self.returncode}); "
            f"last lines of {self.log_path}:\n{self.tail()}"
        )

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(f"    {line}" for line in text) or "    (empty)"
