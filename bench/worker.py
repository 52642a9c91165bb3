"""One benchmark worker process: ``python -m bench.worker --kind unbinding``.

The real worker as ``worker.py`` serves (``build_worker`` with
``SERVING_RUNNER``, the SQL partner center) or the skeleton with the very same
worker options. It serves until SIGTERM, and leaves with ``os._exit`` (sdk-python#300).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import signal
import sys
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.sql import SqlPartnerCenter
from bench.skeleton import SkeletonWorkflow, noop
from bench.timing import ActivityTiming
from starter.connection import connect_client
from worker import (
    ACTIVITY_THREADS,
    GRACEFUL_SHUTDOWN,
    SERVING_PASSTHROUGH,
    SERVING_RUNNER,
    build_worker,
)

UNBINDING = "unbinding"
SKELETON = "skeleton"
TRACE_FRAMES = 1
"""The allocating line only: deeper tracebacks slow workflow tasks past their timeout."""


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("--kind", choices=[UNBINDING, SKELETON], required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument(
        "--tracemalloc-dir",
        type=Path,
        default=None,
        help="trace Python allocations; each SIGUSR1 writes a snapshot here",
    )
    parser.add_argument(
        "--activity-timing",
        type=Path,
        default=None,
        help="append each activity's time in this process to this file (bench.timing)",
    )
    parser.add_argument(
        "--max-cached-workflows",
        type=int,
        default=None,
        help="workflows kept in memory (default: the worker's own setting)",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    if args.tracemalloc_dir is not None:
        tracemalloc.start(TRACE_FRAMES)
    client = await connect_client({"target_host": args.address, "namespace": "default"})
    options: dict[str, Any] = {}
    if args.activity_timing is not None:
        options["interceptors"] = [ActivityTiming(args.activity_timing)]
    if args.max_cached_workflows is not None:
        options["max_cached_workflows"] = args.max_cached_workflows
    partner_center: SqlPartnerCenter | None = None
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        worker: Worker
        if args.kind == UNBINDING:
            partner_center = SqlPartnerCenter(args.database_url, pool_size=ACTIVITY_THREADS)
            worker = build_worker(
                client,
                partner_center,
                task_queue=args.task_queue,
                executor=executor,
                workflow_runner=SERVING_RUNNER,
                **options,
            )
        else:
            worker = Worker(
                client,
                task_queue=args.task_queue,
                workflows=[SkeletonWorkflow],
                activities=[noop],
                activity_executor=executor,
                max_concurrent_activities=ACTIVITY_THREADS,
                graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
                # The same sandbox settings as the serving worker, for its own module too.
                workflow_runner=SandboxedWorkflowRunner(
                    restrictions=SandboxRestrictions.default.with_passthrough_modules(
                        *SERVING_PASSTHROUGH, "bench"
                    )
                ),
                **options,
            )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if args.tracemalloc_dir is not None:
            snapshots = itertools.count(1)
            loop.add_signal_handler(
                signal.SIGUSR1,
                lambda: tracemalloc.take_snapshot().dump(
                    str(args.tracemalloc_dir / f"snapshot-{next(snapshots)}.trace")
                ),
            )
        async with worker:
            await stop.wait()
    if partner_center is not None:
        partner_center.dispose()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    code = 0
    try:
        asyncio.run(serve(_arguments(argv)))
    except Exception:
        logging.exception("benchmark worker failed")
        code = 1
    # temporalio/sdk-python#300: leave without running finalizers.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
