"""A bench run's moving parts: its server, client, ledger and workers, shared
by every phase, and how a phase awaits many applications at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client

from activities.sql import SqlPartnerCenter
from bench import stack
from bench.paths import Driver, Latencies, Partners, Story, Uins
from bench.settings import BenchSettings
from bench.skeleton import Segment
from bench.stack import WorkerSpec
from starter.client import UnbindingClient
from starter.devstack.process import ChildProcess
from starter.progress import phase

ANSWER_TIMEOUT = timedelta(minutes=10)
"""A burst queues actions behind each other; only a stuck worker takes this long."""


@dataclass
class Bench:
    settings: BenchSettings
    client: Client
    ledger: SqlPartnerCenter
    database_url: str
    address: str
    server: ChildProcess
    uins: Uins = field(default_factory=Uins)
    shapes: dict[str, list[Segment]] = field(default_factory=dict)
    """Activities per segment of each path, counted in a real history."""
    workers: list[ChildProcess] = field(default_factory=list)
    trouble: list[str] = field(default_factory=list)
    _queues: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[float]] = field(default_factory=dict)
    """Latency samples (seconds) by name, for the results file's figures."""
    rss: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    """(waiting applications, worker RSS bytes) points by worker kind."""

    def queue(self, name: str) -> str:
        self._queues[name] += 1
        return f"bench-{name}-{self._queues[name]}"

    @contextlib.asynccontextmanager
    async def workers_on(
        self,
        kind: str,
        task_queue: str,
        *,
        count: int = 1,
        cache: int | None = None,
        trace_dir: Path | None = None,
        activity_timing: Path | None = None,
    ) -> AsyncIterator[list[ChildProcess]]:
        spec = WorkerSpec(
            kind, self.address, task_queue, self.database_url, cache, trace_dir, activity_timing
        )
        started: list[ChildProcess] = []
        try:
            for _ in range(count):
                name = f"{task_queue}-{kind}-{len(started) + 1}"
                started.append(
                    await stack.start_worker(
                        spec, self.client, name=name, run_dir=self.settings.run_dir
                    )
                )
            self.workers += started
            yield started
        finally:
            for child in started:
                code = child.stop()
                self.trouble += [f"{child.name}: {line}" for line in stack.trouble(child)]
                if code not in (0, None):
                    self.trouble.append(f"{child.name}: exit code {code}")

    def driver(self, task_queue: str, latencies: Latencies, partners: Partners) -> Driver:
        client = UnbindingClient(self.client, task_queue=task_queue, answer_timeout=ANSWER_TIMEOUT)
        return Driver(client, self.ledger, partners, latencies)

    async def customers(self, driver: Driver, stories: Sequence[Story]) -> list[str]:
        """Create one customer per story in the ledger (not timed)."""

        def create() -> list[str]:
            uins = [self.uins() for _ in stories]
            for story, uin in zip(stories, uins, strict=True):
                driver.customer_for(story, uin)
            return uins

        return await asyncio.to_thread(create)


async def all_of(
    jobs: Iterable[Awaitable[Any]], *, concurrency: int, label: str
) -> list[BaseException]:
    """Await every job, at most ``concurrency`` at once (0: all); the failures.
    A coroutine does nothing until awaited, so the gate holds the rest back.
    Shows the count done and the time left as ``label`` (stderr)."""
    gate = asyncio.Semaphore(concurrency) if concurrency > 0 else None
    pending = list(jobs)

    with phase(label, total=len(pending)) as done:

        async def one(job: Awaitable[Any]) -> None:
            try:
                if gate is None:
                    await job
                    return
                async with gate:
                    await job
            finally:
                done()

        results = await asyncio.gather(*(one(job) for job in pending), return_exceptions=True)
    return [r for r in results if isinstance(r, BaseException)]


def error_texts(failures: list[BaseException]) -> list[str]:
    return [f"{type(f).__name__}: {f}" for f in failures]
