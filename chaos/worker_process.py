"""A worker process with fault hooks: ``python -m chaos.worker_process``.

The real worker (``worker.serve``, the real SQL partner center) with two
options the product's ``worker.py`` does not need:

- ``--max-cached-workflows N``: 0 makes every workflow task replay the whole
  history.
- ``--crash-after-cutover DIR``: right after ``cut_over`` commits, the process
  SIGKILLs itself, before the activity can report completion; the first attempt
  per application only, for at most ``--crash-limit`` applications, remembered
  as marker files in DIR. Fault injection in the harness, not in product code.
- ``--report-config FILE``: each start appends one JSON line with the cache
  size the running worker actually uses, the suite's evidence that a
  no-cache run really had none.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from temporalio.worker import Worker

from activities.sql import SqlPartnerCenter
from starter.connection import connect_client
from worker import ACTIVITY_THREADS, configuration_from_env, serve
from workflows.model import CutoverRequest, CutoverResult


class CrashAfterCutover(SqlPartnerCenter):
    """Dies between the cutover's commit and the activity's completion report."""

    def __init__(self, url: str, *, markers: Path, limit: int, pool_size: int) -> None:
        super().__init__(url, pool_size=pool_size)
        self._markers = markers
        self._limit = limit

    def cut_over(self, request: CutoverRequest) -> CutoverResult:
        result = super().cut_over(request)
        marker = self._markers / request.application_id
        if not marker.exists() and len(list(self._markers.iterdir())) < self._limit:
            marker.write_text(result.effective_at.isoformat())
            logging.warning("cutover of %s committed: crashing now", request.application_id)
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return result


async def main(arguments: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    configuration = configuration_from_env()
    client = await connect_client(configuration.connection)
    url = configuration.database_url
    if arguments.crash_after_cutover is not None:
        arguments.crash_after_cutover.mkdir(parents=True, exist_ok=True)
        partner_center: SqlPartnerCenter = CrashAfterCutover(
            url,
            markers=arguments.crash_after_cutover,
            limit=arguments.crash_limit,
            pool_size=ACTIVITY_THREADS,
        )
    else:
        partner_center = SqlPartnerCenter(url, pool_size=ACTIVITY_THREADS)
    options: dict[str, Any] = {}
    if arguments.max_cached_workflows is not None:
        options["max_cached_workflows"] = arguments.max_cached_workflows

    def announce(worker: Worker) -> None:
        logging.info("chaos worker polling %r with %s", configuration.task_queue, vars(arguments))
        if arguments.report_config is not None:
            _report_config(worker.config(active_config=True), arguments.report_config)

    await serve(client, partner_center, configuration, on_polling=announce, **options)
    partner_center.dispose()


def _report_config(config: Mapping[str, Any], into: Path) -> None:
    cache = config.get("max_cached_workflows")
    with into.open("a") as report:
        report.write(json.dumps({"pid": os.getpid(), "max_cached_workflows": cache}) + "\n")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chaos.worker_process")
    parser.add_argument("--max-cached-workflows", type=int, default=None)
    parser.add_argument("--crash-after-cutover", type=Path, default=None, metavar="DIR")
    parser.add_argument(
        "--crash-limit", type=int, default=1_000_000, help="crash after at most N cutovers"
    )
    parser.add_argument("--report-config", type=Path, default=None, metavar="FILE")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(_arguments()))
    # temporalio/sdk-python#300: leave without running finalizers.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
