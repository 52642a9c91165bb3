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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.partner_center import PartnerCenter, Quotas
from activities.sql import SqlPartnerCenter
from activities.unbinding import UnbindingActivities
from starter.configuration import database_url, quotas_from_env
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
    quotas: Quotas | None = None,
    **options: object,
) -> Worker:
    """The worker; ``signing`` is what it requires of actions and verifies
    them with (default: signatures not required, and none can verify);
    ``quotas`` the submission quotas (default: 3 in 3 months each)."""
    return Worker(
        # Business refusals reach the Web UI without a Python stack trace.
        with_business_failures(client),
        task_queue=task_queue,
        workflows=[UnbindingWorkflow],
        activities=UnbindingActivities(partner_center, quotas=quotas).all(),
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        interceptors=[SignedActionsInterceptor(signing or SigningPolicy())],
        **options,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class WorkerConfiguration:
    """What a worker process reads from its environment (see the module docstring)."""

    database_url: str
    connection: dict[str, Any]
    signing: SigningPolicy
    task_queue: str
    quotas: Quotas = field(default_factory=Quotas)


def configuration_from_env() -> WorkerConfiguration:
    """All of the environment, read and checked at once: a configuration
    mistake stops the process before anything is connected or written."""
    return WorkerConfiguration(
        database_url=database_url(),
        connection=connect_config(),
        signing=signing_policy_from_env(),
        task_queue=task_queue_from_env(),
        quotas=quotas_from_env(),
    )


async def serve(
    client: Client,
    partner_center: PartnerCenter,
    configuration: WorkerConfiguration,
    *,
    on_polling: Callable[[Worker], None],
    **options: object,
) -> None:
    """Poll the task queue until SIGINT or SIGTERM, then let running
    activities finish; ``on_polling`` runs once the worker has started."""
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        worker = build_worker(
            client,
            partner_center,
            task_queue=configuration.task_queue,
            executor=executor,
            signing=configuration.signing,
            quotas=configuration.quotas,
            **options,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with worker:
            on_polling(worker)
            await stop.wait()
            logging.info("shutting down: finishing running activities")


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    configuration = configuration_from_env()
    client = await connect_client(configuration.connection)
    partner_center = SqlPartnerCenter(configuration.database_url, pool_size=ACTIVITY_THREADS)

    def announce(worker: Worker) -> None:
        logging.info(
            "worker polling task queue %r (signed actions %s)",
            configuration.task_queue,
            "required" if configuration.signing.required else "not required",
        )

    await serve(
        client, partner_center, configuration, on_polling=announce, workflow_runner=SERVING_RUNNER
    )
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
