"""Proof that a scenario's faults hit open work: a scenario whose faults landed
on an idle system, or not at all, proves nothing and fails.

Each scenario records what it did at the moment it did it (how many
applications were open at each kill, at the start and end of each outage,
what cache size the worker reported, which worker exits nobody caused);
``Evidence`` turns those records into the table's evidence column and the
reasons a scenario is unproven. Pure: tests feed it fabricated records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FaultWindow:
    """One fault with a duration (a server kill, a lock, an outage) and how
    many applications were open when it began and when it ended."""

    what: str
    open_at_start: int
    open_at_end: int

    @property
    def on_open_work(self) -> bool:
        return self.open_at_start > 0 and self.open_at_end > 0


@dataclass
class Evidence:
    shown: list[str] = field(default_factory=list)
    """What the faults demonstrably did: the table's evidence column."""
    missing: list[str] = field(default_factory=list)
    """Why the scenario is not proven; any entry fails it."""

    @property
    def proven(self) -> bool:
        return not self.missing

    def require(self, proven: bool, claim: str, *, why: str = "") -> None:
        self.shown.append(claim)
        if not proven:
            self.missing.append(f"{claim}{f' ({why})' if why else ''}")

    def kills_on_open_work(self, open_at_each_kill: Sequence[int], *, required: int) -> None:
        """Worker kills count only when at least one application was open."""
        landed = sum(1 for open_count in open_at_each_kill if open_count > 0)
        self.require(
            landed >= required,
            f"{landed}/{required} kills on open work",
            why=f"{len(open_at_each_kill)} kills in all; at least {required} must find "
            "an application open",
        )

    def cutover_crashes(self, crashes: int, *, limit: int) -> None:
        """The SIGKILL right after a cutover's commit, once per application up to the limit."""
        self.require(
            crashes == limit,
            f"{crashes}/{limit} crashes after cutover commit",
            why="the crash hook must fire exactly its configured number of times",
        )

    def windows_on_open_work(
        self, windows: Sequence[FaultWindow], *, required: int, what: str
    ) -> None:
        """Each outage (``what``, plural) must begin and end with applications open."""
        landed = [w for w in windows if w.on_open_work]
        detail = ", ".join(f"{w.open_at_start}→{w.open_at_end}" for w in windows)
        self.require(
            len(landed) >= required,
            f"{len(landed)}/{required} {what} on open work"
            + (f" ({detail} open)" if detail else ""),
            why=f"need {required} with applications open at start and end",
        )

    def cache_disabled(self, reported: Sequence[int | None]) -> None:
        """Every start of the worker reported ``max_cached_workflows=0``."""
        proven = bool(reported) and all(size == 0 for size in reported)
        sizes = ", ".join(str(size) for size in reported) or "none reported"
        self.require(
            proven,
            f"worker cache size {sizes} ({len(reported)} start{'s' * (len(reported) != 1)})",
            why="every worker start must report max_cached_workflows=0",
        )

    def at_least(self, count: int, required: int, what: str) -> None:
        self.require(count >= required, f"{count} {what}", why=f"need at least {required}")

    def no_unexpected_exits(self, exits: Sequence[str]) -> None:
        """A worker that died without being killed is a failure, not a note."""
        if exits:
            self.missing.append(
                f"worker exited {len(exits)} times without being killed: {'; '.join(exits)}"
            )

    def column(self) -> str:
        return "; ".join(self.shown) or "-"


class WorkerExits:
    """Tells the worker exits the suite caused (a kill, the cutover crash
    hook) from those it did not."""

    def __init__(self) -> None:
        self._expected = 0
        self._crashes_seen = 0
        self.unexpected: list[str] = []

    def expect(self) -> None:
        """The suite is about to kill the worker."""
        self._expected += 1

    def observe(self, *, crashes: int, code: int | None, at: float) -> None:
        """The worker was found dead; ``crashes``: the crash hook's markers so far."""
        if self._expected:
            self._expected -= 1
        elif crashes > self._crashes_seen:
            self._crashes_seen += 1
        else:
            self.unexpected.append(f"exit code {code} at t+{at:.0f} s")
