"""The worker's own view of an activity: how long each activity took inside
the worker process (the thread hop and the body: for the unbinding, its SQL
transaction), from the activity's start to its result, one line per run in a
file. Set by ``python -m bench.worker --activity-timing FILE``; set beside the
history's "activity on worker" span (``bench.round_trip``), it tells the body
from the completion's trip to the server."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)


class ActivityTiming(Interceptor):
    """Appends ``<activity type> <milliseconds>`` to ``path`` for each run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Timed(next, self.path)


class _Timed(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, path: Path) -> None:
        super().__init__(next)
        self._path = path

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        started = time.perf_counter()
        try:
            return await super().execute_activity(input)
        finally:
            ms = 1000 * (time.perf_counter() - started)
            with self._path.open("a") as out:
                out.write(f"{activity.info().activity_type} {ms:.3f}\n")


def medians_ms(path: Path) -> dict[str, float]:
    """Median milliseconds per activity type, and over all of them (``all``)."""
    by_type: dict[str, list[float]] = defaultdict(list)
    if path.exists():
        for line in path.read_text().splitlines():
            name, ms = line.rsplit(" ", 1)
            by_type[name].append(float(ms))
    every = [ms for values in by_type.values() for ms in values]
    if not every:
        return {}
    medians = {name: round(statistics.median(values), 2) for name, values in by_type.items()}
    return {"all": round(statistics.median(every), 2), **dict(sorted(medians.items()))}
