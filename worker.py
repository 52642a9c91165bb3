"""Runs the unbinding worker: ``python worker.py``.

Connects through ``temporalio.envconfig`` (standard ``TEMPORAL_*`` variables
and profiles), polls ``UNBIND_TASK_QUEUE``, talks to the partner center at
``UNBIND_DATABASE_URL``, verifies signed actions as ``UNBIND_REQUIRE_SIGNED_ACTIONS``
and ``UNBIND_ACTION_SIGNING_KEYS`` say, and shuts down gracefully on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.partner_center import PartnerCenter
from activities.sql import SqlPartnerCenter
from activities.unbinding import UnbindingActivities
from starter.configuration import database_url
from starter.connection import connect_client, connect_config, task_queue_from_env
from starter.errors import BadConfiguration
from starter.signing import signing_policy_from_env
from workflows.contract import with_business_failures
from workflows.signed_actions import SignedActionsInterceptor
from workflows.signing import SigningPolicy
from workflows.unbinding import UnbindingWorkflow

# Activities are blocking SQL calls; they run on this many threads.
ACTIVITY_THREADS = 16
# On shutdown, running activities get this long to finish before cancellation.
GRACEFUL_SHUTDOWN = timedelta(seconds=20)
# The test suite and the replay tests run workflow code in the full sandbox,
# which re-imports the workflow module for every workflow run and so guards it
# against non-deterministic calls. A serving worker passes our workflow modules
# through instead: that re-import costs ~170 KB per cached workflow and a module
# execution per run (docs/PERFORMANCE.md). Standard-library calls stay restricted
# for any other module, and `open`/`input` everywhere.
SERVING_PASSTHROUGH = ("workflows",)
SERVING_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(*SERVING_PASSTHROUGH)
)


def build_worker(
    client: Client,
    partner_center: PartnerCenter,
    *,
    task_queue: str,
    executor: ThreadPoolExecutor,
    signing: SigningPolicy | None = None,
    **options: object,
) -> Worker:
    """The worker; ``signing`` is what it requires of actions and verifies
    them with (default: signatures not required, and none can verify)."""
    return Worker(
        # Business refusals reach the Web UI without a Python stack trace.
        with_business_failures(client),
        task_queue=task_queue,
        workflows=[UnbindingWorkflow],
        activities=UnbindingActivities(partner_center).all(),
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        interceptors=[SignedActionsInterceptor(signing or SigningPolicy())],
        **options,  # type: ignore[arg-type]
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # A configuration mistake stops here, before anything is connected or written.
    url, connection, signing = database_url(), connect_config(), signing_policy_from_env()
    client = await connect_client(connection)
    partner_center = SqlPartnerCenter(url, pool_size=ACTIVITY_THREADS)
    task_queue = task_queue_from_env()
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        worker = build_worker(
            client,
            partner_center,
            task_queue=task_queue,
            executor=executor,
            signing=signing,
            workflow_runner=SERVING_RUNNER,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with worker:
            logging.info(
                "worker polling task queue %r (signed actions %s)",
                task_queue,
                "required" if signing.required else "not required",
            )
            await stop.wait()
            logging.info("shutting down: finishing running activities")
    partner_center.dispose()


if __name__ == "__main__":
    exit_code = 0
    try:
        asyncio.run(main())
    except BadConfiguration as error:
        print(f"error: {error.message}", file=sys.stderr)
        exit_code = error.exit_code
    # temporalio/sdk-python#300: core threads can crash interpreter shutdown
    # after all work is done; leave without running finalizers.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)
