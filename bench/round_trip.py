"""Where an activity round trip goes, on an idle stack: ``python -m bench.round_trip``.

Starts a dev server (as the bench does) and a skeleton worker in this process,
runs ``--runs`` skeleton workflows of ``--activities`` no-op activities one
after the other, and splits each round trip by the timestamps of the history
events the server wrote:

- ``activity dispatch``: ActivityTaskScheduled → ActivityTaskStarted (server's
  transfer queue, matching, the worker's activity poll);
- ``activity on worker``: ActivityTaskStarted → ActivityTaskCompleted (the
  body, here a no-op, and the completion call);
- ``workflow task dispatch``: WorkflowTaskScheduled → WorkflowTaskStarted;
- ``workflow task on worker``: WorkflowTaskStarted → WorkflowTaskCompleted;
- ``client``: the caller's wall clock minus the history's own span
  (start request and result long poll).

``--dynamic-config KEY=VALUE`` replaces the server settings every local stack
uses (``DEV_SERVER_DYNAMIC_CONFIG``); ``--dynamic-config none`` runs the
server's own defaults, to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Worker

from bench.skeleton import SKELETON_WORKFLOW, SkeletonWorkflow, noop
from starter.devstack.server import DEV_SERVER_DYNAMIC_CONFIG, DevServer
from worker import ACTIVITY_THREADS

E = EventType


def spans(history: WorkflowHistory) -> dict[str, list[float]]:
    """Milliseconds of each span in one history (a span per pair of events;
    an ActivityTaskStarted is matched to its scheduled event by id)."""
    found: dict[str, list[float]] = defaultdict(list)
    times = {e.event_id: e.event_time.ToDatetime() for e in history.events}
    for event in history.events:
        kind = event.event_type
        if kind == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            scheduled = event.activity_task_started_event_attributes.scheduled_event_id
            found["activity dispatch"].append(_ms(times[event.event_id] - times[scheduled]))
        elif kind == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            started = event.activity_task_completed_event_attributes.started_event_id
            found["activity on worker"].append(_ms(times[event.event_id] - times[started]))
        elif kind == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            scheduled = event.workflow_task_started_event_attributes.scheduled_event_id
            found["workflow task dispatch"].append(_ms(times[event.event_id] - times[scheduled]))
        elif kind == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            started = event.workflow_task_completed_event_attributes.started_event_id
            found["workflow task on worker"].append(_ms(times[event.event_id] - times[started]))
    first, last = history.events[0].event_time, history.events[-1].event_time
    found["history span"].append(_ms(last.ToDatetime() - first.ToDatetime()))
    return found


def submission_span_ms(history: WorkflowHistory) -> float:
    """Milliseconds from the workflow's start to its first completed update
    (the submission of an update-with-start), by the server's clock."""
    started = history.events[0].event_time.ToDatetime()
    for event in history.events:
        if event.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            return _ms(event.event_time.ToDatetime() - started)
    raise ValueError(f"no completed update in {history.workflow_id}")


def _ms(delta: Any) -> float:
    return float(delta.total_seconds() * 1000)


async def measure(client: Client, *, runs: int, activities: int) -> dict[str, Any]:
    queue = f"round-trip-{uuid.uuid4().hex[:8]}"  # a fresh queue and ids on a shared server
    samples: dict[str, list[float]] = defaultdict(list)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        async with Worker(
            client,
            task_queue=queue,
            workflows=[SkeletonWorkflow],
            activities=[noop],
            activity_executor=executor,
            max_concurrent_activities=ACTIVITY_THREADS,
        ):
            for run in range(runs + 1):
                started = time.perf_counter()
                handle = await client.start_workflow(
                    SKELETON_WORKFLOW, [activities], id=f"{queue}-{run}", task_queue=queue
                )
                await handle.result()
                wall = 1000 * (time.perf_counter() - started)
                if run == 0:
                    continue  # warm-up: imports, the sandbox, first polls
                found = spans(await handle.fetch_history())
                found["end to end (client)"].append(wall)
                found["client"].append(wall - found["history span"][0])
                for key, values in found.items():
                    samples[key] += values
    return {
        key: {
            "median_ms": round(statistics.median(values), 1),
            "n": len(values),
            "per_run_ms": round(sum(values) / runs, 1),
        }
        for key, values in samples.items()
    }


async def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.round_trip")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--activities", type=int, default=5)
    parser.add_argument("--dynamic-config", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    settings = args.dynamic_config or list(DEV_SERVER_DYNAMIC_CONFIG)
    dynamic_config = [value for value in settings if value.lower() != "none"]
    with tempfile.TemporaryDirectory() as scratch:
        server = DevServer(db_file=Path(scratch) / "temporal.db", dynamic_config=dynamic_config)
        client = await server.start_serving()
        try:
            result = await measure(client, runs=args.runs, activities=args.activities)
        finally:
            server.stop()
    return {"activities": args.activities, "dynamic_config": dynamic_config, **result}


if __name__ == "__main__":
    report = asyncio.run(main())
    print(json.dumps(report, indent=1))
    sys.stdout.flush()
