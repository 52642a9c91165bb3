"""Runs the unbinding worker: ``python worker.py``.

Connects through ``temporalio.envconfig`` (standard ``TEMPORAL_*`` variables
and profiles), polls ``UNBIND_TASK_QUEUE``, talks to the partner center at
``UNBIND_DATABASE_URL``, verifies signed actions as ``UNBIND_REQUIRE_SIGNED_ACTIONS``
and ``UNBIND_ACTION_SIGNING_KEYS`` say, encrypts payloads with ``UNBIND_PAYLOAD_KEYS``
when set (``starter.payload_codec``), serves ``/healthz`` and ``/readyz`` at
``UNBIND_HEALTH_ADDRESS`` (HOST:PORT, when set), and shuts down gracefully on
SIGINT/SIGTERM. A configuration mistake exits 2, an unreachable Temporal or
database 3, each with one line saying what to do.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from temporalio.client import Client
from temporalio.worker import Interceptor, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.partner_center import PartnerCenter, Quotas
from activities.unbinding import UnbindingActivities
from starter.configuration import database_url, quotas_from_env
from starter.connection import connect_client, connect_config, task_queue_from_env
from starter.database import open_partner_center, shown
from starter.errors import BadConfiguration, UnbindError
from starter.health import (
    HEALTH_ADDRESS_VARIABLE,
    Check,
    Health,
    health_address_from_env,
    serve_health,
    worker_readiness,
)
from starter.logs import ApplicationLogContext, configure_logging, log_format_from_env
from starter.signing import signing_policy_from_env
from starter.telemetry import (
    Telemetry,
    report_applications_past_deadline,
    telemetry_from_env,
)
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
    workflows: Sequence[type] = (UnbindingWorkflow,),
    quotas: Quotas | None = None,
    **options: object,
) -> Worker:
    """The worker; ``signing`` is what it requires of actions and verifies
    them with (default: signatures not required, and none can verify).
    ``workflows``: another build of the workflow (the deploy tests);
    ``quotas`` the submission quotas (default: 3 in 3 months each);
    ``options["interceptors"]`` come after ours (the bench times activities)."""
    extra_interceptors = cast(Sequence[Interceptor], options.pop("interceptors", ()))
    return Worker(
        # Business refusals reach the Web UI without a Python stack trace.
        with_business_failures(client),
        task_queue=task_queue,
        workflows=list(workflows),
        activities=UnbindingActivities(partner_center, quotas=quotas).all(),
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        interceptors=[
            SignedActionsInterceptor(signing or SigningPolicy()),
            ApplicationLogContext(),
            *extra_interceptors,
        ],
        **options,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class WorkerConfiguration:
    """What a worker process reads from its environment (see the module docstring)."""

    database_url: str
    connection: dict[str, Any]
    signing: SigningPolicy
    task_queue: str
    telemetry: Telemetry
    log_format: str
    health_address: tuple[str, int] | None = None
    quotas: Quotas = field(default_factory=Quotas)


def configuration_from_env() -> WorkerConfiguration:
    """All of the environment, read and checked at once: a configuration
    mistake stops the process before anything is connected or written."""
    log_format = log_format_from_env()
    return WorkerConfiguration(
        database_url=database_url(),
        connection=connect_config(),
        signing=signing_policy_from_env(),
        task_queue=task_queue_from_env(),
        telemetry=telemetry_from_env("unbind-worker", forward_core_logs=log_format == "json"),
        log_format=log_format,
        health_address=health_address_from_env(),
        quotas=quotas_from_env(),
    )


async def serve(
    client: Client,
    partner_center: PartnerCenter,
    configuration: WorkerConfiguration,
    *,
    on_polling: Callable[[Worker], None],
    **options: Any,  # Worker options, passed through
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
        # Live from before the first poll to the end of the shutdown; ready
        # only while polling (the worker check says "starting" or "shutting down").
        health = await _serve_health(worker, partner_center, configuration)
        try:
            async with worker:
                on_polling(worker)
                await stop.wait()
                logging.info("shutting down: finishing running activities")
        finally:
            if health is not None:
                health.close()


async def _serve_health(
    worker: Worker, partner_center: PartnerCenter, configuration: WorkerConfiguration
) -> asyncio.Server | None:
    if configuration.health_address is None:
        return None
    ping = getattr(partner_center, "ping", None)
    where = shown(configuration.database_url)

    async def readiness() -> Health:
        if ping is None:
            return Health((Check("database", False, "this partner center cannot be pinged"),))
        return await worker_readiness(worker, ping, where)

    host, port = configuration.health_address
    try:
        server = await serve_health(host, port, readiness=readiness)
    except OSError as error:
        raise BadConfiguration(
            HEALTH_ADDRESS_VARIABLE,
            f"cannot listen on {host}:{port} ({error.strerror or error}); choose a free port",
        ) from None
    logging.info("health: http://%s:%d/healthz and /readyz", host, port)
    return server


async def main() -> None:
    configuration = configuration_from_env()
    configure_logging(configuration.log_format)
    # Opening the partner center refuses a database behind the code's schema
    # (exit 2, "run unbind db upgrade"): done before connecting, so that
    # mistake is named before anything polls.
    partner_center = open_partner_center(configuration.database_url, pool_size=ACTIVITY_THREADS)
    telemetry = configuration.telemetry
    client = await connect_client(configuration.connection, telemetry)
    reporting = (
        asyncio.create_task(
            report_applications_past_deadline(client, telemetry.runtime, configuration.task_queue)
        )
        if telemetry.runtime is not None and telemetry.metrics_address
        else None
    )

    def announce(worker: Worker) -> None:
        logging.info(
            "worker polling task queue %r (signed actions %s, metrics %s)",
            configuration.task_queue,
            "required" if configuration.signing.required else "not required",
            telemetry.metrics_address or "off",
        )

    await serve(
        client, partner_center, configuration, on_polling=announce, workflow_runner=SERVING_RUNNER
    )
    if reporting is not None:
        reporting.cancel()
    partner_center.dispose()
    telemetry.shutdown()


if __name__ == "__main__":
    exit_code = 0
    try:
        asyncio.run(main())
    except UnbindError as error:  # a configuration mistake (2), a database that does not answer (3)
        print(f"error: {error.message}", file=sys.stderr)
        exit_code = error.exit_code
    # temporalio/sdk-python#300: core threads can crash interpreter shutdown
    # after all work is done; leave without running finalizers.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)
